// The metric detection pool with real worker threads: detectors live in the workers, keyed by series.
import { afterAll, describe, expect, it } from 'vitest';
import {
  createMetricDetectionPool,
  type MetricSample,
  seriesShard,
} from '../../../agent/detect/metrics/pool.ts';
import { MIN, noiseSource, T0 } from './series-fixtures.ts';

const pool = createMetricDetectionPool({ threads: 2 });
afterAll(() => pool.close());

describe('metric detection pool', { timeout: 60_000 }, () => {
  it('keeps each series in one worker across batches and reports its spike', async () => {
    const noise = noiseSource(11);
    const series = Array.from({ length: 12 }, (_, k) => `node-1/cpu/${k}`);
    const detections: string[] = [];
    for (let batch = 0; batch < 5; batch++) {
      const samples: MetricSample[] = [];
      for (let i = batch * 100; i < (batch + 1) * 100; i++)
        for (const s of series) {
          const spike = s === 'node-1/cpu/3' && i === 420;
          samples.push({ series: s, timeMs: T0 + i * MIN, value: spike ? 95 : 40 + noise() });
        }
      const result = await pool.process(samples);
      expect(result.samples).toBe(samples.length);
      for (const d of result.detections)
        if (d.timeMs >= T0 + 100 * MIN) detections.push(`${d.series}@${(d.timeMs - T0) / MIN}`);
    }
    expect(detections).toEqual(['node-1/cpu/3@420']);
    expect((await pool.stats()).series).toBe(12);
  });

  it('returns a forecast warning for a leaking series with a capacity', async () => {
    const warnings: string[] = [];
    for (let batch = 0; batch < 4; batch++) {
      const samples: MetricSample[] = [];
      for (let i = batch * 60; i < (batch + 1) * 60; i++)
        samples.push({
          series: 'pod/payments/memory',
          timeMs: T0 + i * MIN,
          value: 100 + 2 * i,
          capacity: 512,
        });
      const r = await pool.process(samples);
      for (const w of r.warnings) warnings.push(`${w.series}:${Math.round((w.forecast.etaMs ?? 0) / MIN)}`);
    }
    // Exhaustion at minute 206; the first warning comes when 60 min or less remain.
    expect(warnings).toHaveLength(1);
    const eta = Number(warnings[0]?.split(':')[1]);
    expect(eta).toBeLessThanOrEqual(60);
    expect(eta).toBeGreaterThan(30);
  });

  it('forgets dropped series', async () => {
    const before = (await pool.stats()).series;
    await pool.drop(['node-1/cpu/0', 'node-1/cpu/1']);
    expect((await pool.stats()).series).toBe(before - 2);
  });

  it('routes a series to the same shard every time', () => {
    expect(seriesShard('a/b/c', 4)).toBe(seriesShard('a/b/c', 4));
    expect(() => createMetricDetectionPool({ threads: 0 })).toThrow('options.threads');
  });
});
