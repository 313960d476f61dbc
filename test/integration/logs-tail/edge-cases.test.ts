import { appendFileSync, mkdirSync, renameSync, rmSync, statSync, utimesSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { LogTailer } from '../../../agent/sources/logs/tailer.ts';
import { Collector, criLine, expectExactlyOnce, makeHostRoot, podLogDir, pollUntil } from './helpers.ts';

describe('log tailing edge cases', () => {
  let cleanup = () => {};
  afterEach(() => cleanup());
  const root = () => {
    const host = makeHostRoot();
    cleanup = host.cleanup;
    return host.root;
  };

  it('returns a line only once its newline arrives, and checkpoints before it', async () => {
    const r = root();
    const path = join(podLogDir(r, 'ns', 'p'), '0.log');
    const line = criLine(1);
    writeFileSync(path, criLine(0) + line.slice(0, 20));
    const tailer = new LogTailer({ hostRoot: r, idleReadDelayMs: 0 });
    const first = await tailer.poll();
    expect(first.records.map((x) => x.text)).toEqual(['seq=0 payload for line 0']);
    expect(Object.values(tailer.checkpoint())[0]?.offset).toBe(criLine(0).length);
    expect((await tailer.poll()).records).toHaveLength(0);
    appendFileSync(path, line.slice(20));
    const second = await tailer.poll();
    expect(second.records.map((x) => x.text)).toEqual(['seq=1 payload for line 1']);
    expect(Object.values(tailer.checkpoint())[0]?.offset).toBe(criLine(0).length + line.length);
    await tailer.close();
  });

  it('reassembles CRI P pieces written across several polls', async () => {
    const r = root();
    const path = join(podLogDir(r, 'ns', 'p'), '0.log');
    writeFileSync(path, '2024-01-01T00:00:00Z stdout P seq=0 a');
    const tailer = new LogTailer({ hostRoot: r, idleReadDelayMs: 0 });
    expect((await tailer.poll()).records).toHaveLength(0);
    appendFileSync(path, '\n2024-01-01T00:00:00Z stdout P b\n');
    const mid = await tailer.poll();
    expect(mid.records).toHaveLength(0);
    expect(Object.values(tailer.checkpoint())[0]?.offset).toBe(0);
    appendFileSync(path, '2024-01-01T00:00:00Z stdout F c\n');
    expect((await tailer.poll()).records.map((x) => x.text)).toEqual(['seq=0 abc']);
    await tailer.close();
  });

  it('cuts a 10 MB line with a visible marker and keeps the lines around it', async () => {
    const r = root();
    const path = join(podLogDir(r, 'ns', 'big'), '0.log');
    const huge = `seq=1 ${'x'.repeat(10 * 1024 * 1024)}`;
    writeFileSync(path, `${criLine(0)}2024-01-01T00:00:00Z stdout F ${huge}\n${criLine(2)}`);
    // The same 10 MB message as the runtime writes it: 16 KiB P pieces and a final F.
    const pieces: string[] = [];
    const msg = `seq=3 ${'y'.repeat(10 * 1024 * 1024)}`;
    for (let i = 0; i < msg.length; i += 16384) {
      const last = i + 16384 >= msg.length;
      pieces.push(`2024-01-01T00:00:00Z stdout ${last ? 'F' : 'P'} ${msg.slice(i, i + 16384)}\n`);
    }
    appendFileSync(path, pieces.join('') + criLine(4));
    const tailer = new LogTailer({ hostRoot: r, maxLineBytes: 65536 });
    const c = new Collector();
    await pollUntil(tailer, c, () => c.records.length >= 5);
    expectExactlyOnce(c.seqs(), 5);
    const cut1 = c.records[1];
    const cut3 = c.records[3];
    expect(cut1?.truncated).toBe(true);
    expect(cut1?.text).toBe(`${huge.slice(0, 65536)}…[truncated ${huge.length - 65536} bytes]`);
    expect(cut3?.truncated).toBe(true);
    expect(cut3?.text).toBe(`${msg.slice(0, 65536)}…[truncated ${msg.length - 65536} bytes]`);
    expect(tailer.stats().truncations).toBe(2);
    expect(Object.values(c.checkpoint)[0]?.offset).toBe(statSync(path).size);
    await tailer.close();
  });

  it('survives binary junk and invalid UTF-8, passing it through as counted parse errors', async () => {
    const r = root();
    const path = join(podLogDir(r, 'ns', 'junk'), '0.log');
    let state = 12345;
    const rand = () => {
      state = (state * 1103515245 + 12345) & 0x7fffffff;
      return state;
    };
    const parts: Buffer[] = [];
    for (let seq = 0; seq < 500; seq++) {
      parts.push(Buffer.from(criLine(seq)));
      const junk = Buffer.alloc(1 + (rand() % 300));
      for (let i = 0; i < junk.length; i++) junk[i] = rand() % 256;
      // No junk byte may form `seq=`; a newline ends each junk run.
      parts.push(
        Buffer.from(junk.toString('latin1').replaceAll('seq=', 'SEQ='), 'latin1'),
        Buffer.from('\n'),
      );
      parts.push(
        Buffer.from('2024-01-01T00:00:00Z stdout F bad utf8 '),
        Buffer.from([0xc3, 0x28, 0xff, 0xed, 0xa0, 0x80, 0x0a]),
      );
    }
    writeFileSync(path, Buffer.concat(parts));
    const tailer = new LogTailer({ hostRoot: r });
    const c = new Collector();
    await pollUntil(tailer, c, () => Object.values(c.checkpoint)[0]?.offset === statSync(path).size);
    expectExactlyOnce(c.seqs(), 500);
    expect(tailer.stats().parseErrors).toBeGreaterThan(400);
    expect(c.records.some((x) => x.text.includes('\uFFFD'))).toBe(true);
    await tailer.close();
  });

  it('reads a file to its end through the open descriptor after its pod directory is deleted', async () => {
    const r = root();
    const dir = podLogDir(r, 'ns', 'gone');
    const path = join(dir, '0.log');
    let text = '';
    for (let i = 0; i < 5000; i++) text += criLine(i);
    writeFileSync(path, text);
    const tailer = new LogTailer({ hostRoot: r, discoveryIntervalMs: 10, rotateWaitMs: 0 });
    const c = new Collector();
    c.add(await tailer.poll(20_000));
    expect(c.records.length).toBeGreaterThan(0);
    expect(c.records.length).toBeLessThan(5000);
    rmSync(dirname(dir), { recursive: true });
    await pollUntil(tailer, c, () => c.records.length >= 5000 && Object.keys(c.checkpoint).length === 0);
    expectExactlyOnce(c.seqs(), 5000);
    expect(tailer.stats()).toMatchObject({ filesReleased: 1, filesTracked: 0, filesOpen: 0, filesLost: 0 });
    await tailer.close();
  });

  it('resumes at the checkpoint only when the file still starts with its fingerprinted bytes', async () => {
    const r = root();
    const path = join(podLogDir(r, 'ns', 'p'), '0.log');
    writeFileSync(path, criLine(0) + criLine(1));
    const st = statSync(path);
    const key = `${st.dev}:${st.ino}`;
    const good = new LogTailer({ hostRoot: r });
    const firstRead = await good.poll();
    expect(firstRead.records).toHaveLength(2);
    const cp = good.checkpoint();
    await good.close();

    appendFileSync(path, criLine(2));
    const resumed = new LogTailer({ hostRoot: r, idleReadDelayMs: 0 });
    resumed.restore(cp);
    expect((await resumed.poll()).records.map((x) => x.text)).toEqual(['seq=2 payload for line 2']);
    await resumed.close();

    const entry = cp[key];
    if (entry === undefined) throw new Error('no checkpoint entry');
    const reused = new LogTailer({ hostRoot: r });
    reused.restore({
      [key]: { ...entry, fingerprint: `${entry.fingerprint.split(':')[0]}:${'0'.repeat(40)}` },
    });
    expect((await reused.poll()).records).toHaveLength(3);
    expect(reused.stats().inodeReuses).toBe(1);
    await reused.close();
  });

  it('notices a rotation in a directory whose cached listing was trusted', async () => {
    const r = root();
    const dir = podLogDir(r, 'ns', 'quiet');
    const path = join(dir, '0.log');
    writeFileSync(path, criLine(0));
    // Directories last changed long ago: their listings are reused while their mtime stays the same.
    const old = new Date(Date.now() - 60_000);
    for (const d of [dir, dirname(dir), dirname(dirname(dir))]) utimesSync(d, old, old);
    const tailer = new LogTailer({ hostRoot: r, discoveryIntervalMs: 10, rotateWaitMs: 0 });
    const c = new Collector();
    await pollUntil(tailer, c, () => c.records.length === 1);
    appendFileSync(path, criLine(1));
    await pollUntil(tailer, c, () => c.records.length === 2);
    renameSync(path, `${path}.1`);
    appendFileSync(`${path}.1`, criLine(2));
    writeFileSync(path, criLine(3));
    await pollUntil(tailer, c, () => c.records.length >= 4 && tailer.stats().filesReleased === 1);
    expectExactlyOnce(c.seqs(), 4);
    expect(tailer.stats().rotations).toBe(1);
    await tailer.close();
  });

  it('picks up a new file at the next poll once a discovery interval (< 1 s) has passed', async () => {
    const r = root();
    let now = 1_000_000;
    const tailer = new LogTailer({ hostRoot: r, now: () => now });
    expect((await tailer.poll()).records).toHaveLength(0);
    writeFileSync(join(podLogDir(r, 'ns', 'late'), '0.log'), criLine(0));
    now += 999;
    expect((await tailer.poll()).records.map((x) => x.stream.id)).toEqual(['ns/late/app']);
    await tailer.close();
  });

  it('filters by namespace, pod and container and reads host logs and docker json-file', async () => {
    const r = root();
    writeFileSync(join(podLogDir(r, 'kube-system', 'coredns'), '0.log'), criLine(0));
    writeFileSync(join(podLogDir(r, 'shop', 'cart', 'istio-proxy'), '0.log'), criLine(1));
    writeFileSync(
      join(podLogDir(r, 'shop', 'cart', 'server'), '2.log'),
      `${JSON.stringify({ log: 'seq=2 docker line\n', stream: 'stderr', time: '2024-01-01T00:00:00Z' })}\n`,
    );
    mkdirSync(join(r, 'var/log'), { recursive: true });
    writeFileSync(join(r, 'var/log/auth.log'), 'Jan  1 00:00:00 node sshd[1]: seq=3 Failed password\n');
    const tailer = new LogTailer({
      hostRoot: r,
      exclude: { namespaces: ['kube-*'], pods: [], containers: ['istio-proxy'] },
    });
    const { records } = await tailer.poll();
    expect(records.map((x) => [x.stream.id, x.streamName, x.text]).sort()).toEqual([
      ['host:auth.log', 'host', 'Jan  1 00:00:00 node sshd[1]: seq=3 Failed password'],
      ['shop/cart/server', 'stderr', 'seq=2 docker line'],
    ]);
    const server = records.find((x) => x.stream.kind === 'container');
    expect(server?.stream).toMatchObject({ restartCount: 2, podUid: 'cart-uid' });
    await tailer.close();
  });
});
