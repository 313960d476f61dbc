import { mkdirSync, mkdtempSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { expect } from 'vitest';
import type { LogTailer, PollResult } from '../../../agent/sources/logs/tailer.ts';
import type { Checkpoint, LogRecord } from '../../../agent/sources/logs/types.ts';
import { seqOfText } from './fixtures/lines.ts';

export function makeHostRoot(): { root: string; cleanup: () => void } {
  const root = mkdtempSync(join(tmpdir(), 'vigil-tail-'));
  return { root, cleanup: () => rmSync(root, { recursive: true, force: true }) };
}

/** Creates `<root>/var/log/pods/<ns>_<pod>_<uid>/<container>/` and returns it. */
export function podLogDir(
  root: string,
  ns: string,
  pod: string,
  container = 'app',
  uid = `${pod}-uid`,
): string {
  const dir = join(root, 'var/log/pods', `${ns}_${pod}_${uid}`, container);
  mkdirSync(dir, { recursive: true });
  return dir;
}

export { criLine } from './fixtures/lines.ts';

export function seqOf(r: LogRecord): number {
  return seqOfText(r.text);
}

/** Accumulates every record, and the checkpoint as a store keeping each poll's changes would hold it. */
export class Collector {
  records: LogRecord[] = [];
  checkpoint: Checkpoint = {};

  add(result: PollResult): PollResult {
    for (const r of result.records) this.records.push(r);
    Object.assign(this.checkpoint, result.changed);
    for (const k of result.removed) delete this.checkpoint[k];
    return result;
  }

  seqs(): number[] {
    return this.records.map(seqOf).filter((s) => s >= 0);
  }

  maxSeq(): number {
    let max = -1;
    for (const r of this.records) max = Math.max(max, seqOf(r));
    return max;
  }
}

/** Every sequence number 0..count-1 exactly once (the order across files is not asserted). */
export function expectExactlyOnce(seqs: number[], count: number): void {
  const seen = new Map<number, number>();
  for (const s of seqs) seen.set(s, (seen.get(s) ?? 0) + 1);
  const missing: number[] = [];
  const duplicated: number[] = [];
  for (let i = 0; i < count; i++) {
    const n = seen.get(i) ?? 0;
    if (n === 0) missing.push(i);
    if (n > 1) duplicated.push(i);
  }
  expect({ missing: missing.slice(0, 20), duplicated: duplicated.slice(0, 20), total: seqs.length }).toEqual({
    missing: [],
    duplicated: [],
    total: count,
  });
}

/** Polls until `done()` or the deadline; each poll's result goes to the collector. */
export async function pollUntil(
  tailer: LogTailer,
  collector: Collector,
  done: () => boolean,
  opts: { deadlineMs?: number; intervalMs?: number; maxBytes?: number } = {},
): Promise<void> {
  const deadline = Date.now() + (opts.deadlineMs ?? 30_000);
  for (;;) {
    collector.add(await tailer.poll(opts.maxBytes));
    if (done()) return;
    if (Date.now() > deadline) throw new Error('pollUntil: deadline passed before the condition held');
    await new Promise((r) => setTimeout(r, opts.intervalMs ?? 10));
  }
}

export function openFdCount(): number {
  return readdirSync('/proc/self/fd').length;
}
