import { pino } from 'pino';
import { describe, expect, it } from 'vitest';
import { CounterDeltas } from '../../../agent/sources/metrics/counter-deltas.ts';
import { SourceGate } from '../../../agent/sources/metrics/source-gate.ts';

function capturingLogger(): {
  logger: pino.Logger;
  lines: { level: number; msg: string; source?: string }[];
} {
  const lines: { level: number; msg: string; source?: string }[] = [];
  const logger = pino({ level: 'debug' }, { write: (s: string) => lines.push(JSON.parse(s)) });
  return { logger, lines };
}

describe('counter deltas', () => {
  it('gives no delta for the first reading, then the increase and elapsed time', () => {
    const d = new CounterDeltas();
    expect(d.delta('k', 100, 1000)).toBeUndefined();
    expect(d.delta('k', 150, 2000)).toEqual({ delta: 50, elapsedMs: 1000 });
    expect(d.rate('k', 250, 2500)).toBe(200);
  });

  it('skips the delta of a counter that went back and measures from the new value', () => {
    const d = new CounterDeltas();
    d.delta('k', 1_000_000, 0);
    expect(d.delta('k', 10, 1000)).toBeUndefined();
    expect(d.delta('k', 30, 2000)).toEqual({ delta: 20, elapsedMs: 1000 });
  });

  it('gives no delta when no time passed', () => {
    const d = new CounterDeltas();
    d.delta('k', 1, 1000);
    expect(d.delta('k', 2, 1000)).toBeUndefined();
  });

  it('forgets keys a sample did not touch', () => {
    const d = new CounterDeltas();
    d.delta('gone', 1, 0);
    d.delta('kept', 1, 0);
    d.sweep();
    d.delta('kept', 2, 1000);
    d.sweep();
    expect(d.size).toBe(1);
    expect(d.delta('gone', 5, 2000)).toBeUndefined();
  });
});

describe('source gate', () => {
  it('warns once for a failing source however often it fails, and retries it after the period', () => {
    const { logger, lines } = capturingLogger();
    const gate = new SourceGate(logger, 10_000);
    for (let t = 0; t < 60_000; t += 1000) if (gate.shouldTry('psi', t)) gate.fail('psi', t, {}, 'off');
    expect(lines.filter((l) => l.level === 40)).toHaveLength(1);
    expect(gate.isOff('psi')).toBe(true);
    // The last retry, at 50 s, failed again: the next is due 10 s later.
    expect(gate.shouldTry('psi', 59_999)).toBe(false);
    expect(gate.shouldTry('psi', 60_000)).toBe(true);
  });

  it('announces a source that comes back, once', () => {
    const { logger, lines } = capturingLogger();
    const gate = new SourceGate(logger, 10_000);
    gate.fail('psi', 0, {}, 'off');
    gate.ok('psi');
    gate.ok('psi');
    expect(lines.map((l) => l.msg)).toEqual(['off', 'metric source available again']);
    expect(gate.offSources()).toEqual([]);
  });
});
