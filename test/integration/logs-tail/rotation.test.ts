import { spawn } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { LogTailer } from '../../../agent/sources/logs/tailer.ts';
import { Collector, expectExactlyOnce, makeHostRoot, podLogDir } from './helpers.ts';

const writer = join(import.meta.dirname, 'fixtures/rotating-writer.ts');

/** Runs the writer; resolves with its exit code and how many rotations it made. */
function runWriter(cfg: object): Promise<{ code: number; rotations: number }> {
  const child = spawn(process.execPath, [writer, JSON.stringify(cfg)], {
    stdio: ['ignore', 'pipe', 'inherit'],
  });
  let out = '';
  child.stdout.on('data', (c: Buffer) => {
    out += c.toString();
  });
  return new Promise((resolve, reject) => {
    child.on('error', reject);
    child.on('close', (code) =>
      resolve({ code: code ?? -1, rotations: Number(/rotations (\d+)/.exec(out)?.[1] ?? -1) }),
    );
  });
}

describe('tailing under rotation with continuous writes', () => {
  let cleanup = () => {};
  afterEach(() => cleanup());

  for (const mode of ['rename', 'copytruncate'] as const) {
    it(`reads every line exactly once across ${mode} rotations`, async () => {
      const host = makeHostRoot();
      cleanup = host.cleanup;
      const dir = podLogDir(host.root, 'default', `writer-${mode}`);
      const path = join(dir, '0.log');
      const ackPath = join(host.root, 'ack');
      writeFileSync(path, '');
      // Every poll reads the file (adaptive polling off): the writer must see its lines acknowledged to rotate.
      const tailer = new LogTailer({
        hostRoot: host.root,
        discoveryIntervalMs: 20,
        rotateWaitMs: 100,
        idleReadDelayMs: 0,
      });
      const collector = new Collector();
      const count = 30_000;
      let exitCode: number | null = null;
      let rotations = -1;
      const done = runWriter({
        path,
        count,
        mode,
        rotateEvery: 3000,
        keep: 2,
        ackPath,
        burst: 250,
        pauseMs: 2,
      }).then((r) => {
        rotations = r.rotations;
        exitCode = r.code;
      });
      const deadline = Date.now() + 90_000;
      let quietSince = Date.now();
      while (Date.now() < deadline) {
        const got = collector.add(await tailer.poll()).records.length;
        writeFileSync(ackPath, String(collector.maxSeq()));
        if (got > 0 || exitCode === null) quietSince = Date.now();
        if (exitCode !== null && (collector.records.length >= count || Date.now() - quietSince > 3000)) break;
        await new Promise((r) => setTimeout(r, 5));
      }
      await done;
      // A few more polls: nothing further may arrive (no duplicates from rotated files being let go).
      for (let i = 0; i < 5; i++) {
        collector.add(await tailer.poll());
        await new Promise((r) => setTimeout(r, 30));
      }
      expect(exitCode).toBe(0);
      expectExactlyOnce(collector.seqs(), count);
      const stats = tailer.stats();
      expect(rotations).toBeGreaterThanOrEqual(2);
      if (mode === 'rename') expect(stats.rotations).toBe(rotations);
      else expect([stats.copytruncates, stats.copytruncateTailsRecovered]).toEqual([rotations, rotations]);
      await tailer.close();
    });
  }
});
