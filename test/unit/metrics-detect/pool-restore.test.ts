// Learned models across a restart: a pool's snapshot loaded into a new pool gives the same decisions on the
// following samples as a pool that never stopped; damaged or old states are refused and counted.
import { afterEach, describe, expect, it } from 'vitest';
import { createSeriesDetector } from '../../../agent/detect/metrics/detector.ts';
import { createExhaustionForecaster } from '../../../agent/detect/metrics/forecast.ts';
import {
  createMetricDetectionPool,
  type MetricDetectionPool,
  type MetricSample,
  type SeriesModelState,
} from '../../../agent/detect/metrics/pool.ts';
import { MIN, noiseSource, T0 } from './series-fixtures.ts';

const pools: MetricDetectionPool[] = [];
function newPool(): MetricDetectionPool {
  const p = createMetricDetectionPool({ threads: 2 });
  pools.push(p);
  return p;
}
afterEach(async () => {
  await Promise.all(pools.splice(0).map((p) => p.close()));
});

/**
 * Deterministic samples, minute by minute: CPU series with a spike and a level shift late on, a counter,
 * and a memory series that leaks towards its limit from minute 150 (exhaustion around minute 290).
 */
function samplesAt(i: number, noise: () => number): MetricSample[] {
  const out: MetricSample[] = [];
  const t = T0 + i * MIN;
  for (let k = 0; k < 6; k++) {
    let v = 40 + 5 * Math.sin((2 * Math.PI * i) / 1440) + noise();
    if (k === 1 && i === 520) v += 40;
    if (k === 2 && i >= 540) v += 15;
    out.push({ series: `node/cpu/${k}`, timeMs: t, value: v });
  }
  out.push({ series: 'node/net/rx', timeMs: t, value: 1e6 * i + 1000 * noise(), counter: true });
  const leak = i < 150 ? 200 + 3 * noise() : 200 + 2 * (i - 150) + 3 * noise();
  out.push({ series: 'pod/db/memory', timeMs: t, value: Math.min(leak, 512), capacity: 512 });
  return out;
}

async function run(
  pool: MetricDetectionPool,
  from: number,
  to: number,
  noise: () => number,
  out: string[],
): Promise<void> {
  for (let i = from; i < to; i += 30) {
    const batch: MetricSample[] = [];
    for (let j = i; j < Math.min(to, i + 30); j++) batch.push(...samplesAt(j, noise));
    const r = await pool.process(batch);
    for (const d of r.detections) out.push(`${d.series}@${(d.timeMs - T0) / MIN}:${d.update.kind}`);
    for (const w of r.warnings) out.push(`${w.series}@${(w.forecast.timeMs - T0) / MIN}:warn`);
  }
}

describe('metric model snapshot and restore', { timeout: 60_000 }, () => {
  it('a restored pool decides the following samples exactly as an uninterrupted one', async () => {
    const split = 240;
    const end = 700;
    const straight: string[] = [];
    await run(newPool(), 0, end, noiseSource(3), straight);

    const noise = noiseSource(3);
    const before: string[] = [];
    const first = newPool();
    await run(first, 0, split, noise, before);
    const states = await first.snapshot();
    expect(states.map((s) => s.series).sort()).toHaveLength(8);
    expect(states.find((s) => s.series === 'pod/db/memory')?.forecaster).toBeDefined();
    const second = newPool();
    expect(await second.restore(states)).toEqual({ restored: 8, skipped: 0 });
    const after: string[] = [];
    await run(second, split, end, noise, after);

    expect([...before, ...after]).toEqual(straight);
    // The decisions after the split are real ones: the leak warning, the spike, the shift.
    expect(after.some((d) => d.startsWith('pod/db/memory') && d.endsWith(':warn'))).toBe(true);
    expect(after.some((d) => d.startsWith('node/cpu/1@520'))).toBe(true);
    expect(after.some((d) => d.startsWith('node/cpu/2@54'))).toBe(true);
  });

  it('a fresh pool, by contrast, is blind to the ongoing leak for a whole ring', async () => {
    const noise = noiseSource(3);
    for (let i = 0; i < 240; i++) samplesAt(i, noise);
    const after: string[] = [];
    await run(newPool(), 240, 290, noise, after);
    expect(after.filter((d) => d.endsWith(':warn'))).toEqual([]);
  });

  it('snapshots only the series that took samples since the last snapshot', async () => {
    const pool = newPool();
    await pool.process([
      { series: 'a', timeMs: T0, value: 1 },
      { series: 'b', timeMs: T0, value: 1 },
    ]);
    expect((await pool.snapshot()).map((s) => s.series).sort()).toEqual(['a', 'b']);
    await pool.process([{ series: 'b', timeMs: T0 + MIN, value: 2 }]);
    const again = await pool.snapshot();
    expect(again.map((s) => s.series)).toEqual(['b']);
    expect(again[0]?.lastTimeMs).toBe(T0 + MIN);
    expect(await pool.snapshot()).toEqual([]);
  });

  it('refuses states of another layout version or damaged ones, counts them, and learns afresh', async () => {
    const detector = createSeriesDetector();
    const forecaster = createExhaustionForecaster();
    for (let i = 0; i < 100; i++) {
      detector.update(T0 + i * MIN, 50 + (i % 7));
      forecaster.update(T0 + i * MIN, 50 + (i % 7), 100);
    }
    const good = detector.serialize();
    const oldVersion = good.slice();
    oldVersion[0] = 2;
    const truncated = good.slice(0, 100);
    const badIndex = good.slice();
    badIndex[26] = 99; // envelope slot
    const badRing = forecaster.serialize();
    badRing[3 + 2 * 60] = 1e9; // ring head
    const states: SeriesModelState[] = [
      { series: 'old', counter: false, detector: oldVersion, lastTimeMs: T0 },
      { series: 'short', counter: false, detector: truncated, lastTimeMs: T0 },
      { series: 'index', counter: false, detector: badIndex, lastTimeMs: T0 },
      { series: 'ring', counter: false, detector: good, forecaster: badRing, lastTimeMs: T0 },
      {
        series: 'nan',
        counter: false,
        detector: new Float64Array(good.length).fill(Number.NaN),
        lastTimeMs: T0,
      },
    ];
    const pool = newPool();
    // 'ring' keeps its good detector; its forecaster is refused.
    expect(await pool.restore(states)).toEqual({ restored: 1, skipped: 5 });
    const r = await pool.process(
      states.map((s) => ({ series: s.series, timeMs: T0 + 200 * MIN, value: 5, capacity: 100 })),
    );
    expect(r.samples).toBe(5);
    const snap = await pool.snapshot();
    const samplesOf = (name: string) => {
      const d = snap.find((s) => s.series === name)?.detector;
      return d ? createSeriesDetector({}, d).snapshot().samples : undefined;
    };
    expect(samplesOf('old')).toBe(1);
    expect(samplesOf('nan')).toBe(1);
    expect(samplesOf('ring')).toBe(101);
  });

  it('forgets restored states whose series never came back once they are stale', async () => {
    const pool = newPool();
    const detector = createSeriesDetector();
    detector.update(T0, 1);
    await pool.restore([
      { series: 'gone', counter: false, detector: detector.serialize(), lastTimeMs: T0 },
      { series: 'recent', counter: false, detector: detector.serialize(), lastTimeMs: T0 + 10 * MIN },
    ]);
    expect((await pool.stats()).waiting).toBe(2);
    await pool.snapshot({ staleBeforeMs: T0 + MIN });
    expect((await pool.stats()).waiting).toBe(1);
  });
});

describe('exhaustion forecaster state', () => {
  it('continues from serialize() exactly, and refuses a state of another ring size', () => {
    const a = createExhaustionForecaster();
    const series = (i: number) => 100 + 1.5 * i + ((i * 37) % 11);
    for (let i = 0; i < 90; i++) a.update(T0 + i * MIN, series(i), 512);
    const b = createExhaustionForecaster({}, a.serialize());
    for (let i = 90; i < 200; i++)
      expect(b.update(T0 + i * MIN, series(i), 512)).toEqual(a.update(T0 + i * MIN, series(i), 512));
    expect(() => createExhaustionForecaster({ points: 30, minPoints: 20 }, a.serialize())).toThrow(
      RangeError,
    );
    expect(() => createExhaustionForecaster({ stepMs: 30_000 }, a.serialize())).toThrow(RangeError);
  });

  it('measures the trend afresh after a gap longer than its ring, without waiting for history again', () => {
    const f = createExhaustionForecaster();
    // A flat hour, then the agent is away for three hours; the series comes back leaking.
    for (let i = 0; i < 70; i++) f.update(T0 + i * MIN, 100 + (i % 3), 512);
    let warnedAt: number | undefined;
    for (let i = 250; i < 400 && warnedAt === undefined; i++) {
      const r = f.update(T0 + i * MIN, 105 + 5 * (i - 250), 512);
      if (r?.started) warnedAt = i;
    }
    // Exhaustion at minute ≈ 331, within the horizon from minute 271. With the pre-gap flat hour still in
    // the ring, the trend would only be sustained once that hour had mostly left it (minute ≈ 290).
    expect(warnedAt).toBeDefined();
    expect(warnedAt!).toBeLessThan(280);
  });
});

describe('a detector restored after a restart gap', () => {
  it('treats the gap as a gap: no alert on an unchanged series, and its rate per second stays right', () => {
    const noise = noiseSource(5);
    const SEC = 1000;
    const value = (i: number) => 500 + 0.01 * i + 2 * noise(); // a slow climb of 0.01 per second
    const before = createSeriesDetector();
    for (let i = 0; i < 3000; i++) expect(before.update(T0 + i * SEC, value(i)).anomaly).toBe(false);
    const after = createSeriesDetector({}, before.serialize());
    // Ten minutes down (a rolling upgrade), then the same series goes on.
    const rates: number[] = [];
    for (let i = 3600; i < 5000; i++) {
      const r = after.update(T0 + i * SEC, value(i));
      expect(r.anomaly).toBe(false);
      rates.push(r.ratePerSec);
    }
    // Averaged over the samples right after the gap, the fitted growth is of the right size (≈ 0.01/s):
    // the gap is not taken for one very long sampling interval.
    const early = rates.slice(0, 60).reduce((a, b) => a + b, 0) / 60;
    expect(Math.abs(early)).toBeLessThan(0.2);
    expect(after.snapshot().samples).toBe(3000 + 1400);
  });
});
