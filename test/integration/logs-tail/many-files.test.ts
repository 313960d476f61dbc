import { appendFileSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { LogTailer } from '../../../agent/sources/logs/tailer.ts';
import { Collector, criLine, expectExactlyOnce, makeHostRoot, openFdCount, podLogDir } from './helpers.ts';

describe('a thousand files', () => {
  let cleanup = () => {};
  afterEach(() => cleanup());

  it('reads every line of 1,000 growing files exactly once while holding at most maxOpenFiles descriptors', async () => {
    const host = makeHostRoot();
    cleanup = host.cleanup;
    const files = 1000;
    const paths: string[] = [];
    let seq = 0;
    for (let i = 0; i < files; i++) {
      const path = join(podLogDir(host.root, 'load', `pod-${i}`), '0.log');
      paths.push(path);
      writeFileSync(path, criLine(seq++) + criLine(seq++));
    }
    const baseline = openFdCount();
    const cap = 256;
    const tailer = new LogTailer({ hostRoot: host.root, maxOpenFiles: cap, discoveryIntervalMs: 10 });
    const c = new Collector();
    let maxFds = 0;
    const drain = async (expected: number) => {
      const deadline = Date.now() + 60_000;
      while (c.records.length < expected) {
        if (Date.now() > deadline) throw new Error(`only ${c.records.length} of ${expected} records`);
        c.add(await tailer.poll());
        maxFds = Math.max(maxFds, openFdCount() - baseline);
        await new Promise((r) => setTimeout(r, 15));
      }
    };
    await drain(seq);
    // Every file grows again: closed ones must be reopened (after an inode check) and read from their offset.
    for (let round = 0; round < 3; round++) {
      for (const path of paths) appendFileSync(path, criLine(seq++));
      await drain(seq);
    }
    expectExactlyOnce(c.seqs(), seq);
    expect(maxFds).toBeLessThanOrEqual(cap);
    const stats = tailer.stats();
    expect(stats.filesOpen).toBeLessThanOrEqual(cap);
    expect(stats.fdEvictions).toBeGreaterThan(0);
    expect(stats.fdReopens).toBeGreaterThan(0);
    // The polls' changes add up to every file's entry at its end.
    expect(Object.keys(c.checkpoint)).toHaveLength(files);
    expect(c.checkpoint).toEqual(tailer.checkpoint());
    for (const path of paths) {
      const st = statSync(path);
      expect(c.checkpoint[`${st.dev}:${st.ino}`]?.offset).toBe(st.size);
    }
    await tailer.close();
  });
});
