// The agent's log mining and metric detection on one shared worker thread (agent/detect/detection-thread.ts):
// both pools work on it as on threads of their own, the metric options it was started with apply, one thread
// runs it all, and closing the pools leaves the thread to whoever started it.
import { afterAll, describe, expect, it } from 'vitest';
import { startDetectionThread } from '../../../agent/detect/detection-thread.ts';
import { LogMiningPool } from '../../../agent/detect/logs/pool.ts';
import {
  createMetricDetectionPool,
  type MetricSample,
  metricWorkerData,
} from '../../../agent/detect/metrics/pool.ts';
import { MIN, noiseSource, T0 } from '../metrics-detect/series-fixtures.ts';

const piscina = startDetectionThread(metricWorkerData({ maxSeries: 3 }));
afterAll(() => piscina.destroy());

describe('the shared detection thread', { timeout: 60_000 }, () => {
  it('runs both pools, with the options it was started with, on one thread that outlives them', async () => {
    const logs = new LogMiningPool({ thread: { piscina, name: 'logs', owned: false } });
    const metrics = createMetricDetectionPool({ thread: { piscina, name: 'metrics', owned: false } });

    const mined = await logs.mine('ns/pod/app', ['GET /a 200 ok', 'GET /b 200 ok']);
    expect(mined.templates.map((t) => [t.template, t.count])).toEqual([['GET <*> ok', 2]]);

    const noise = noiseSource(7);
    const samples: MetricSample[] = [];
    for (let i = 0; i < 300; i++)
      samples.push({ series: 'a', timeMs: T0 + i * MIN, value: i === 250 ? 95 : 40 + noise() });
    const result = await metrics.process(samples);
    expect(result.detections.map((d) => `${d.series}@${(d.timeMs - T0) / MIN}`)).toEqual(['a@250']);
    const more = ['b', 'c', 'd'].map((series) => ({ series, timeMs: T0 + 300 * MIN, value: 1 }));
    await metrics.process(more);
    expect((await metrics.stats()).series).toBe(3); // maxSeries from the thread's start, not the default

    expect(piscina.threads).toHaveLength(1);
    await logs.close();
    await metrics.close();
    // Still there for its owner: a pool's close does not destroy a thread it was given.
    expect(
      (await piscina.run({ op: 'mine', stream: 'x', lines: ['still here'] }, { name: 'logs' })).templateIds,
    ).toEqual(['t1']);
  });

  it('refuses more than one shard on a shared thread', () => {
    const thread = { piscina, name: 'logs', owned: false };
    expect(() => new LogMiningPool({ threads: 2, thread })).toThrow(/options.threads must be 1/);
    expect(() => createMetricDetectionPool({ threads: 2, thread: { ...thread, name: 'metrics' } })).toThrow(
      /options.threads must be 1/,
    );
  });
});
