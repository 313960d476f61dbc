import { describe, expect, it } from 'vitest';
import { TemplateMiner } from '../../../agent/detect/logs/miner.ts';
import { LogSignalDetector, type LogSignalSnapshot } from '../../../agent/detect/logs/signals.ts';
import { type StreamWindow, WindowAccumulator } from '../../../agent/detect/logs/window.ts';
import type { Subject } from '../../../common/signal.ts';

const SUBJECT: Subject = { kind: 'container', namespace: 'shop', pod: 'api-1', container: 'api' };
const WINDOW_MS = 10_000;

/** Mines windows of lines with one miner (kept across a detector restart, as the pipeline keeps its miner). */
class Windows {
  private readonly miner = new TemplateMiner();
  private index = 0;

  next(lines: string[]): StreamWindow {
    const start = this.index++ * WINDOW_MS;
    const acc = new WindowAccumulator(SUBJECT, start);
    for (const line of lines) {
      const r = this.miner.add(line);
      acc.add(line, r.templateId, r.template, r.isNew);
    }
    return acc.close(start + WINDOW_MS);
  }
}

const requests = (i: number, n = 5) =>
  Array.from({ length: n }, (_, k) => `GET /api/items/${i * 10 + k} 200 ok`);
const errors = (n: number) => Array.from({ length: n }, (_, k) => `payment failed for order ${k}: timeout`);

/** A detector past its warm-up on steady traffic with a trickle of errors. */
function learned(w: Windows): LogSignalDetector {
  const d = new LogSignalDetector();
  for (let i = 0; i < 40; i++) expect(d.observe(w.next([...requests(i), ...errors(1)]))).toEqual([]);
  return d;
}

const restored = (snap: LogSignalSnapshot) => {
  const d = new LogSignalDetector();
  d.restore(JSON.parse(JSON.stringify(snap)) as LogSignalSnapshot);
  return d;
};

describe('log signal state across restarts', () => {
  it('continues from a snapshot exactly where the detector stopped', () => {
    const w = new Windows();
    const original = learned(w);
    const copy = restored(original.snapshot());
    expect(copy.warmingUp).toBe(false);
    const burst = w.next([...requests(41), ...errors(60)]);
    const a = original.observe(burst, { caughtUp: true });
    const b = copy.observe(burst, { caughtUp: true });
    expect(a.map((s) => s.kind).sort()).toEqual(['log.error_rate_jump', 'log.template_burst']);
    expect(b).toEqual(a);
    expect(copy.snapshot()).toEqual(original.snapshot());
  });

  it('does not take the backlog read after a restart for a burst, and does not learn from it', () => {
    const w = new Windows();
    const snap = learned(w).snapshot();
    const d = restored(snap);
    // The lines written while the agent was down arrive in the first windows after it: 40x the usual.
    const backlog = d.observe(w.next([...requests(50, 200), ...errors(40)]), { caughtUp: false });
    expect(backlog).toEqual([]);
    expect(d.isSettling).toBe(true);
    // Still settling, a template never seen before is reported.
    const fresh = d.observe(w.next(['disk quota exceeded on volume data-7']), { caughtUp: false });
    expect(fresh.map((s) => s.kind)).toEqual(['log.new_template']);
    // Live again: the baselines are the ones from before the restart, untouched by the backlog.
    expect(d.observe(w.next([...requests(52), ...errors(1)]), { caughtUp: true })).toEqual([]);
    expect(d.isSettling).toBe(false);
    const burst = d.observe(w.next([...requests(53), ...errors(60)]), { caughtUp: true });
    expect(burst.map((s) => s.kind)).toContain('log.error_rate_jump');
  });

  it('stops settling after a warm-up of windows even if the tailer never keeps up', () => {
    const w = new Windows();
    const d = restored(learned(w).snapshot());
    for (let i = 0; i < d.options.warmupWindows; i++)
      d.observe(w.next(requests(60 + i)), { caughtUp: false });
    expect(d.isSettling).toBe(true);
    d.observe(w.next(requests(99)), { caughtUp: false });
    expect(d.isSettling).toBe(false);
  });

  it('refuses a snapshot it cannot read', () => {
    const d = new LogSignalDetector();
    expect(() => d.restore({ version: 2 } as unknown as LogSignalSnapshot)).toThrow(/unsupported/);
  });
});
