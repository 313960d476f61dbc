import { type ChildProcess, spawn } from 'node:child_process';
import { appendFileSync, existsSync, readFileSync, renameSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { LogTailer } from '../../../agent/sources/logs/tailer.ts';
import type { Checkpoint } from '../../../agent/sources/logs/types.ts';
import {
  Collector,
  criLine,
  expectExactlyOnce,
  makeHostRoot,
  podLogDir,
  pollUntil,
  seqOf,
} from './helpers.ts';

const child = join(import.meta.dirname, 'fixtures/tail-child.ts');

function journalSeqs(path: string): number[] {
  if (!existsSync(path)) return [];
  const seqs: number[] = [];
  for (const line of readFileSync(path, 'utf8').split('\n')) {
    try {
      for (const s of (JSON.parse(line) as { seqs: number[] }).seqs) seqs.push(s);
    } catch {
      // a torn last line was never committed
    }
  }
  return seqs;
}

async function until(cond: () => boolean, what: string, deadlineMs = 30_000): Promise<void> {
  const deadline = Date.now() + deadlineMs;
  while (!cond()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 10));
  }
}

describe('crash and restart', () => {
  let cleanup = () => {};
  afterEach(() => cleanup());

  it('continues exactly from a persisted checkpoint after the tailer is dropped without closing', async () => {
    const host = makeHostRoot();
    cleanup = host.cleanup;
    const path = join(podLogDir(host.root, 'shop', 'cart'), '0.log');
    let seq = 0;
    const write = (n: number) => {
      let text = '';
      for (let i = 0; i < n; i++) text += criLine(seq++);
      appendFileSync(path, text);
    };
    write(2000);
    // An open CRI record at the crash point: its F piece comes after the restart.
    appendFileSync(path, criLine(seq).replace(' F ', ' P ').replace('\n', ' first-half\n'));

    const first = new LogTailer({ hostRoot: host.root });
    const committed: number[] = [];
    let saved: Checkpoint = {};
    const store = join(host.root, 'committed.json');
    for (let i = 0; i < 3; i++) {
      const { records } = await first.poll(40_000);
      const checkpoint = first.checkpoint();
      for (const r of records) committed.push(seqOf(r));
      writeFileSync(store, JSON.stringify({ checkpoint }));
      saved = checkpoint;
    }
    // Read but never committed: a crash loses these, the restarted tailer must deliver them again.
    await first.poll();
    expect(Object.values(saved)[0]?.offset).toBeGreaterThan(0);

    appendFileSync(path, `2024-01-01T00:00:00Z stdout F second-half seq=${seq++}\n`);
    write(500);
    renameSync(path, `${path}.20240101-000000`);
    appendFileSync(`${path}.20240101-000000`, criLine(seq++));
    write(700);

    const second = new LogTailer({ hostRoot: host.root, rotateWaitMs: 0 });
    second.restore((JSON.parse(readFileSync(store, 'utf8')) as { checkpoint: Checkpoint }).checkpoint);
    const after = new Collector();
    await pollUntil(
      second,
      after,
      () => committed.length + after.records.length >= seq && after.records.length > 0,
    );
    const joined = after.records.find((r) => r.text.includes('first-half'));
    expect(joined?.text).toContain('first-halfsecond-half');
    expectExactlyOnce([...committed, ...after.seqs()], seq);
    await second.close();
  });

  it('loses and repeats no line when the tailer process is SIGKILLed repeatedly', async () => {
    const host = makeHostRoot();
    const path = join(podLogDir(host.root, 'pay', 'api'), '0.log');
    const journal = join(host.root, 'journal.ndjson');
    let proc: ChildProcess | null = null;
    cleanup = () => {
      proc?.kill('SIGKILL');
      host.cleanup();
    };
    const start = async () => {
      const p = spawn(process.execPath, [child, host.root, journal], {
        stdio: ['ignore', 'pipe', 'inherit'],
      });
      proc = p;
      await new Promise<void>((resolve) => p.stdout?.once('data', () => resolve()));
    };
    const total = 40_000;
    let seq = 0;
    let generation = 0;
    const writeSome = (n: number) => {
      let text = '';
      for (let i = 0; i < n && seq < total; i++) text += criLine(seq++);
      appendFileSync(path, text);
    };
    writeSome(1000);
    await start();
    for (let kill = 0; kill < 4; kill++) {
      const target = journalSeqs(journal).length + 3000;
      while (journalSeqs(journal).length < target && seq < total) {
        writeSome(500);
        await new Promise((r) => setTimeout(r, 5));
      }
      (proc as ChildProcess | null)?.kill('SIGKILL');
      await new Promise((r) => (proc as ChildProcess | null)?.once('exit', r));
      // While the tailer is down the file rotates and keeps growing.
      writeSome(2000);
      renameSync(path, `${path}.${++generation}`);
      writeSome(2000);
      await start();
    }
    while (seq < total) {
      writeSome(1000);
      await new Promise((r) => setTimeout(r, 5));
    }
    await until(() => journalSeqs(journal).length >= total, 'the journal to hold every line');
    await new Promise((r) => setTimeout(r, 300));
    expectExactlyOnce(journalSeqs(journal), total);
  });
});
