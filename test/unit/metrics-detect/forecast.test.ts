import { describe, expect, it } from 'vitest';
import { createExhaustionForecaster } from '../../../agent/detect/metrics/forecast.ts';
import { FORECAST_SCENARIOS, type ForecastScenario } from '../../../bench/forecast/scenarios.ts';
import { MIN, noiseSource } from './series-fixtures.ts';

interface Outcome {
  exhaustionMs: number | undefined;
  warnings: Array<{ atMs: number; etaMs: number }>;
}

function play(s: ForecastScenario, seed: number): Outcome {
  const noise = noiseSource(seed);
  const f = createExhaustionForecaster();
  const warnings: Outcome['warnings'] = [];
  let exhaustionMs: number | undefined;
  for (let t = 0; t <= s.durationMs; t += s.stepMs) {
    if (s.usage(t, () => 0) >= s.capacity) {
      exhaustionMs = t;
      break;
    }
    const r = f.update(t, s.usage(t, noise), s.capacity);
    if (r?.started) warnings.push({ atMs: t, etaMs: r.etaMs ?? Number.NaN });
  }
  return { exhaustionMs, warnings };
}

const byName = (part: string) => {
  const s = FORECAST_SCENARIOS.find((x) => x.name.includes(part));
  if (!s) throw new Error(`no scenario ${part}`);
  return s;
};

describe('exhaustion forecast', () => {
  it.each(['linear leak (0.5', 'slow linear leak', 'step then linear', 'container memory', 'disk fill'])(
    'warns at least 30 min ahead of a known %s with the time right to within 10 min',
    (name) => {
      const out = play(byName(name), 42);
      expect(out.exhaustionMs).toBeDefined();
      const first = out.warnings[0];
      expect(first).toBeDefined();
      if (!first || out.exhaustionMs === undefined) return;
      expect(out.exhaustionMs - first.atMs).toBeGreaterThanOrEqual(30 * MIN);
      expect(Math.abs(first.atMs + first.etaMs - out.exhaustionMs)).toBeLessThanOrEqual(10 * MIN);
    },
  );

  it('warns an accelerating leak at least 30 min ahead', () => {
    const out = play(byName('exponential'), 42);
    const first = out.warnings[0];
    expect(first && out.exhaustionMs !== undefined && out.exhaustionMs - first.atMs).toBeGreaterThanOrEqual(
      30 * MIN,
    );
  });

  it.each([
    'daily sawtooth',
    'GC sawtooth (40→80',
    'step then flat',
    'white noise',
    'daily sine',
    'cache warm-up',
  ])('never warns on the look-alike %s', (name) => {
    for (const seed of [1, 2, 3]) expect(play(byName(name), seed).warnings).toEqual([]);
  });

  it('never warns on a slow sawtooth, not even on its first climb before any release was seen', () => {
    for (const seed of [1, 2, 3, 7]) expect(play(byName('slow GC sawtooth'), seed).warnings).toEqual([]);
  });

  it('warns a leak that runs from the first sample once a whole ring has been seen, still 30 min ahead', () => {
    const out = play(byName('leak from the first sample (0.5'), 42);
    const first = out.warnings[0];
    expect(first?.atMs).toBeGreaterThanOrEqual(60 * MIN);
    expect(first && out.exhaustionMs !== undefined && out.exhaustionMs - first.atMs).toBeGreaterThanOrEqual(
      30 * MIN,
    );
  });

  it('opens one warning episode for one leak (no flapping)', () => {
    expect(play(byName('linear leak (0.5'), 9).warnings).toHaveLength(1);
  });

  it('rejects invalid options with the option named', () => {
    expect(() => createExhaustionForecaster({ stepMs: 0 })).toThrow('options.stepMs');
    expect(() => createExhaustionForecaster({ points: 5 })).toThrow('options.points');
    expect(() => createExhaustionForecaster({ minPoints: 100 })).toThrow('options.minPoints');
  });

  it('keeps a fixed-size state', () => {
    const f = createExhaustionForecaster();
    for (let i = 0; i < 500; i++) f.update(i * 10_000, 50, 100);
    const size = f.serialize().byteLength;
    for (let i = 500; i < 20_000; i++) f.update(i * 10_000, 50, 100);
    expect(f.serialize().byteLength).toBe(size);
  });
});
