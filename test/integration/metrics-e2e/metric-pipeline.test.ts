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

/** A pipeline on node n1 collecting its signals, and a container of shop on that node. */
function start(pod: string, container: string) {
  const signals: Signal[] = [];
  const p = new MetricPipeline({ node: 'n1', emit: (s) => signals.push(s), logger: quietLogger });
  pipeline = p;
  return {
    signals,
    p,
    subject: { kind: 'container' as const, node: 'n1', namespace: 'shop', pod, container },
  };
}

describe('metric pipeline', () => {
  it('forecasts a container memory leak against its limit before the limit is reached', async () => {
    const { signals, p, subject } = start('db-0', 'postgres');
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

describe('counter rates', () => {
  /**
   * A container's CPU read once a second from a counter that its writer advances in steps about a second
   * apart, with a stall now and then (the simulator under load): one read sees no step, the next two.
   * `rise` is a real change of use: from that second on the container uses `rise` cores.
   */
  async function cpuSignals(rise?: { atS: number; cores: number }): Promise<Signal[]> {
    const { signals, p, subject } = start('api-0', 'api');
    const t0 = Date.UTC(2026, 0, 1);
    let seed = 7;
    const random = () => {
      seed = (seed * 1_103_515_245 + 12_345) % 2 ** 31;
      return seed / 2 ** 31;
    };
    const cores = (ms: number) =>
      rise && ms >= rise.atS * 1000 ? rise.cores : 0.05 * (0.8 + 0.4 * random());
    // The writer's steps: the counter (µs of CPU) as of each write.
    const writes: Array<{ ms: number; usageUsec: number }> = [{ ms: 0, usageUsec: 0 }];
    const seconds = (rise?.atS ?? 1_500) + 40;
    let usage = 0;
    for (let ms = 0; ms < seconds * 1000; ) {
      const step = 1000 + 250 * random() + (random() < 0.02 ? 1500 : 0);
      usage += cores(ms) * step * 1000;
      ms += step;
      writes.push({ ms, usageUsec: usage });
    }
    const readAt = (ms: number) => writes.filter((w) => w.ms <= ms).at(-1)?.usageUsec ?? 0;
    let last = readAt(3);
    for (let s = 1; s < seconds; s++) {
      const ms = s * 1000 + 3;
      const now = readAt(ms);
      const digests = new DigestAccumulator((k, n, v, m) => p.observe(k, n, v, m, t0 + ms));
      digests.add('container.cpu.cores', (now - last) / 1000 / 1000, { subject });
      last = now;
      if (s % 10 === 0) await p.flush();
    }
    await p.close();
    pipeline = undefined;
    return signals.filter((s) => s.explanation.includes('cpu'));
  }

  it('scores CPU over a span: a counter written in uneven steps raises nothing, a real rise does', async () => {
    expect(await cpuSignals()).toEqual([]);
    const rose = await cpuSignals({ atS: 1_500, cores: 0.5 });
    expect(rose.length, 'a signal for the rise').toBeGreaterThan(0);
    expect(rose[0]!.explanation).toMatch(/cpu cores of shop\/api-0\/api/);
  }, 60_000);
});
