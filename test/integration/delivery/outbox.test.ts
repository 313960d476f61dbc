// The outbox on real LMDB files: the cap, the drop reports and the on-disk footprint.
import { mkdtempSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pino } from 'pino';
import { afterEach, describe, expect, it } from 'vitest';
import { type DropStats, Outbox } from '../../../agent/buffer/outbox.ts';
import { openLmdb } from '../../../common/store/lmdb.ts';

const quiet = pino({ level: 'silent' });
const dirs: string[] = [];
afterEach(() => {
  for (const d of dirs.splice(0)) rmSync(d, { recursive: true, force: true });
});

function open(maxBytes: number, dir = mkdtempSync(join(tmpdir(), 'vigil-outbox-'))) {
  dirs.push(dir);
  const store = openLmdb(join(dir, 'agent.mdb'), quiet);
  return { dir, store, outbox: new Outbox(store.root, { maxBytes }) };
}

const payload = (n: number) => new Uint8Array(n).fill(7);

describe('outbox', () => {
  it('keeps batches across a reopen and deletes only acked ones', async () => {
    const { dir, store, outbox } = open(1 << 20);
    for (let i = 0; i < 5; i++) await outbox.append(() => payload(100));
    await outbox.ack(2);
    await store.root.close();
    const again = open(1 << 20, dir).outbox;
    expect(again.count).toBe(3);
    expect(again.ackedSeq).toBe(2);
    expect(again.read(0, 10).map((b) => b.seq)).toEqual([3, 4, 5]);
    expect(await again.append(() => payload(10))).toBe(6);
  });

  it('moves pending batches after sequences the aggregator holds, in order, across a reopen', async () => {
    const { dir, store, outbox } = open(1 << 20);
    const distinct = (n: number) => new Uint8Array(n).map((_, i) => n * 10 + i);
    await outbox.append(() => distinct(1));
    await outbox.append(() => distinct(2), { value: 'high' });
    await outbox.append(() => distinct(3));
    await outbox.ack(1);
    // Below what this outbox numbered: nothing to move.
    expect(await outbox.renumberAfter(2)).toBe(0);
    expect(await outbox.renumberAfter(40)).toBe(2);
    expect(outbox.ackedSeq).toBe(40);
    await store.root.close();
    const again = open(1 << 20, dir).outbox;
    expect(again.read(0, 10).map((b) => [b.seq, [...b.summary]])).toEqual([
      [41, [20, 21]],
      [42, [30, 31, 32]],
    ]);
    expect(again.ackedSeq).toBe(40);
    expect(await again.append(() => payload(4))).toBe(43);
    await again.ack(42);
    expect(again.read(0, 10).map((b) => b.seq)).toEqual([43]);
    expect(again.count).toBe(1);
  });

  it('rebuilds bookkeeping it cannot read from the stored batches, and never numbers over one', async () => {
    const { dir, store, outbox } = open(1 << 20);
    for (let i = 1; i <= 3; i++) await outbox.append(() => payload(i));
    const meta = store.root.openDB<unknown, string>({ name: 'outbox-meta', encoding: 'msgpack' });
    await meta.put('nextSeq', 2); // behind the stored batches: the next append would overwrite batch 2
    await meta.put('ackedSeq', 'x');
    await meta.put('drops', 7);
    await store.root.close();
    const again = open(1 << 20, dir).outbox;
    expect([again.nextSeq, again.ackedSeq, again.drops.droppedBatches]).toEqual([4, 0, 0]);
    expect(await again.append(() => payload(4))).toBe(4);
    expect(again.read(0, 10).map((b) => [b.seq, b.summary.length])).toEqual([
      [1, 1],
      [2, 2],
      [3, 3],
      [4, 4],
    ]);
  });

  it('drops the oldest batches at its cap, counts them and reports them in the next batch', async () => {
    const { outbox } = open(10_000);
    const reports: DropStats[] = [];
    for (let i = 0; i < 100; i++) {
      await outbox.append((drops) => {
        reports.push({ ...drops });
        return payload(991); // + 9 bytes of header = 1,000 bytes stored
      });
      expect(outbox.bytes).toBeLessThanOrEqual(10_000);
    }
    expect(outbox.count).toBe(10);
    expect(outbox.read(0, 100).map((b) => b.seq)).toEqual([91, 92, 93, 94, 95, 96, 97, 98, 99, 100]);
    expect(outbox.drops).toMatchObject({
      droppedBatches: 90,
      droppedBytes: 90_000,
      firstDroppedSeq: 1,
      lastDroppedSeq: 90,
    });
    // The batch written after a drop carries it: batch 12 reports that batch 1 was dropped when 11 came in.
    expect(reports[10]?.droppedBatches).toBe(0);
    expect(reports[11]?.droppedBatches).toBe(1);
    expect(reports[99]?.droppedBatches).toBe(89);
  });

  it('drops low-value batches before batches that carry signals', async () => {
    const { outbox } = open(5_000);
    await outbox.append(() => payload(991), { value: 'high' }); // seq 1
    for (let i = 0; i < 10; i++) await outbox.append(() => payload(991)); // seq 2..11
    const kept = outbox.read(0, 100).map((b) => b.seq);
    expect(kept[0]).toBe(1);
    expect(kept).toHaveLength(5);
  });

  it('stays bounded on disk while far more than its cap passes through', async () => {
    const { dir, outbox } = open(256 * 1024);
    for (let i = 0; i < 1000; i++) await outbox.append(() => payload(2000)); // 2 MB through a 256 KiB cap
    expect(outbox.bytes).toBeLessThanOrEqual(256 * 1024);
    expect(outbox.drops.droppedBatches).toBeGreaterThan(850);
    // LMDB reuses freed pages: the file stays within a small multiple of the cap.
    expect(statSync(join(dir, 'agent.mdb')).size).toBeLessThan(4 * 1024 * 1024);
  });

  it('moves a corrupt state file aside and starts empty instead of crashing', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'vigil-corrupt-'));
    dirs.push(dir);
    writeFileSync(join(dir, 'agent.mdb'), Buffer.alloc(64 * 1024, 0x5a));
    const opened = openLmdb(join(dir, 'agent.mdb'), quiet);
    expect(opened.recoveredFrom).toMatch(/agent\.mdb\.corrupt-\d+$/);
    expect(statSync(opened.recoveredFrom!).size).toBe(64 * 1024);
    const outbox = new Outbox(opened.root, { maxBytes: 1 << 20 });
    expect(await outbox.append(() => payload(10))).toBe(1);
    await opened.root.close();
  });
});
