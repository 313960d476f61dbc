// The agent's metric path with a real worker pool: samples of watched series are scored, a leak against a
// memory limit is forecast before it hits, and a steady series stays quiet.
import { afterEach, describe, expect, it } from 'vitest';
import { MetricPipeline } from '../../../agent/pipeline/metric-pipeline.ts';
import { DigestAccumulator } from '../../../agent/summarize/digest.ts';
import type { Signal } from '../../../common/signal.ts';
import { quietLogger } from '../../support/in-process.ts';

let pipeline: MetricPipeline | undefined;
afterEach(async () => {
  await pipeline?.close();
});

describe('metric pipeline', () => {
  it('forecasts a container memory leak against its limit before the limit is reached', async () => {
    const signals: Signal[] = [];
    pipeline = new MetricPipeline({ node: 'n1', emit: (s) => signals.push(s), logger: quietLogger });
    const p = pipeline;
    const subject = {
      kind: 'container' as const,
      node: 'n1',
      namespace: 'shop',
      pod: 'db-0',
      container: 'postgres',
    };
    const limit = 512 * 2 ** 20;
    const t0 = Date.UTC(2026, 0, 1);
    let hitAt = Number.POSITIVE_INFINITY;
    // 3 MiB/min from 200 MiB with noise, one sample every 10 s, and a flat neighbour.
    for (let i = 0; i < 6 * 110; i++) {
      const t = t0 + i * 10_000;
      const used = 200 * 2 ** 20 + (i / 6) * 3 * 2 ** 20 + ((i * 7919) % 13) * 2 ** 16;
      if (used >= limit && hitAt === Number.POSITIVE_INFINITY) hitAt = t;
      const digests = new DigestAccumulator((k, n, v, m) => p.observe(k, n, v, m, t));
      digests.add('container.memory.current_bytes', Math.min(used, limit), { subject, capacity: limit });
      digests.add('node.load.1m', 1 + ((i * 31) % 5) / 100);
      await p.flush();
    }
    const forecast = signals.find((s) => s.kind === 'metric.exhaustion_forecast');
    expect(forecast, 'a forecast signal').toBeDefined();
    expect(forecast!.subject).toMatchObject({ pod: 'db-0', container: 'postgres' });
    expect(forecast!.explanation).toMatch(/will be full in ~/);
    expect(hitAt - forecast!.timeMs, 'warned at least 30 minutes ahead').toBeGreaterThanOrEqual(30 * 60_000);
    expect(signals.filter((s) => s.explanation.includes('load'))).toEqual([]);
  });
});
