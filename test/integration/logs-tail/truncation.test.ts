import { appendFileSync, copyFileSync, rmSync, statSync, truncateSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { LogTailer } from '../../../agent/sources/logs/tailer.ts';
import { Collector, criLine, expectExactlyOnce, makeHostRoot, podLogDir, pollUntil } from './helpers.ts';

function lines(from: number, to: number): string {
  let text = '';
  for (let i = from; i < to; i++) text += criLine(i);
  return text;
}

describe('truncation and copytruncate', () => {
  let cleanup = () => {};
  afterEach(() => cleanup());

  it('recovers the unread tail from the copy when the file regrew past our offset before the next poll', async () => {
    const host = makeHostRoot();
    cleanup = host.cleanup;
    const path = join(podLogDir(host.root, 'ns', 'ct'), '0.log');
    writeFileSync(path, lines(0, 10_000));
    const tailer = new LogTailer({ hostRoot: host.root, idleReadDelayMs: 0, rotateWaitMs: 0 });
    const c = new Collector();
    c.add(await tailer.poll(4096)); // one chunk: part of the file only
    expect(c.records.length).toBeGreaterThan(0);
    expect(c.records.length).toBeLessThan(10_000);
    appendFileSync(path, lines(10_000, 10_050));
    // logrotate copytruncate, then the app writes more than we had read: size alone cannot tell.
    copyFileSync(path, `${path}.1`);
    truncateSync(path, 0);
    appendFileSync(path, lines(10_050, 20_000));
    await pollUntil(tailer, c, () => c.records.length >= 20_000 && tailer.stats().filesReleased === 1);
    expectExactlyOnce(c.seqs(), 20_000);
    expect(tailer.stats()).toMatchObject({ copytruncates: 1, copytruncateTailsRecovered: 1, bytesLost: 0 });
    await tailer.close();
  });

  it('restarts at 0 and counts the loss when a truncated file has no copy to recover from', async () => {
    const host = makeHostRoot();
    cleanup = host.cleanup;
    const path = join(podLogDir(host.root, 'ns', 'tr'), '0.log');
    writeFileSync(path, lines(0, 10_000));
    const tailer = new LogTailer({ hostRoot: host.root, idleReadDelayMs: 0, truncateCheckMs: 0 });
    const c = new Collector();
    c.add(await tailer.poll(4096));
    const readBefore = c.records.length;
    const sizeBefore = statSync(path).size;
    truncateSync(path, 0);
    appendFileSync(path, lines(20_000, 20_010));
    await pollUntil(tailer, c, () => c.seqs().includes(20_009));
    const after = c.seqs().filter((s) => s >= 20_000);
    expect(after).toEqual(Array.from({ length: 10 }, (_, i) => 20_000 + i));
    expect(tailer.stats().copytruncates).toBe(1);
    expect(tailer.stats().bytesLost).toBeGreaterThan(0);
    expect(tailer.stats().bytesLost).toBeLessThanOrEqual(sizeBefore);
    expect(readBefore).toBeLessThan(10_000);
    await tailer.close();
  });

  it('starts at the end of existing files when asked, and reports removed checkpoint keys', async () => {
    const host = makeHostRoot();
    cleanup = host.cleanup;
    const dir = podLogDir(host.root, 'ns', 'old');
    const path = join(dir, '0.log');
    writeFileSync(path, lines(0, 50));
    const tailer = new LogTailer({
      hostRoot: host.root,
      startAt: 'end',
      rotateWaitMs: 0,
      idleReadDelayMs: 0,
    });
    const first = await tailer.poll();
    expect(first.records).toHaveLength(0);
    const key = Object.keys(tailer.checkpoint())[0] as string;
    appendFileSync(path, lines(50, 60));
    const c = new Collector();
    await pollUntil(tailer, c, () => c.records.length >= 10);
    expectExactlyOnce(
      c.seqs().map((s) => s - 50),
      10,
    );
    rmSync(path);
    const removed: string[] = [];
    for (let i = 0; i < 200 && removed.length === 0; i++) {
      removed.push(...(await tailer.poll()).removed);
      await new Promise((r) => setTimeout(r, 10));
    }
    expect(removed).toEqual([key]);
    await tailer.close();
  });
});
