// The metric pipeline's learned models in a real LMDB: saved at close and restored by the next pipeline on
// the same store, stale states not used, series unseen for the age bound removed, damaged records skipped.
import { join } from 'node:path';
import type { RootDatabase } from 'lmdb';
import { pino } from 'pino';
import { afterEach, describe, expect, it } from 'vitest';
import { METRIC_MODELS_DB, MetricModelStore } from '../../../agent/detect/metrics/model-store.ts';
import { MetricPipeline } from '../../../agent/pipeline/metric-pipeline.ts';
import { DigestAccumulator } from '../../../agent/summarize/digest.ts';
import type { Signal } from '../../../common/signal.ts';
import { openLmdb } from '../../../common/store/lmdb.ts';
import { quietLogger, tempDir } from '../../support/in-process.ts';

const HOUR = 3_600_000;
const T0 = Date.UTC(2026, 0, 1);
const roots: RootDatabase[] = [];
afterEach(async () => {
  await Promise.all(roots.splice(0).map((r) => r.close()));
});

function openRoot(dir: string): RootDatabase {
  const { root } = openLmdb(join(dir, 'agent.mdb'), quietLogger);
  roots.push(root);
  return root;
}

/** Logs as JSON lines into an array. */
function recording(): { logger: typeof quietLogger; lines: Array<Record<string, unknown>> } {
  const lines: Array<Record<string, unknown>> = [];
  const logger = pino(
    { level: 'debug' },
    {
      write: (s: string) => {
        lines.push(JSON.parse(s) as Record<string, unknown>);
      },
    },
  );
  return { logger, lines };
}

/** Feeds `minutes` of samples, one every 10 s: memory leaking 1/min from 100 towards 200, and a flat load. */
async function feed(p: MetricPipeline, fromMin: number, minutes: number): Promise<void> {
  const subject = { kind: 'container' as const, node: 'n1', namespace: 'shop', pod: 'db-0', container: 'pg' };
  for (let i = fromMin * 6; i < (fromMin + minutes) * 6; i++) {
    const t = T0 + i * 10_000;
    const digests = new DigestAccumulator((k, n, v, m) => p.observe(k, n, v, m, t));
    digests.add('container.memory.current_bytes', 100 + i / 6 + ((i * 7) % 5) / 10, {
      subject,
      capacity: 200,
    });
    digests.add('node.load.1m', 1 + ((i * 31) % 5) / 100);
    await p.flush();
  }
}

/** A node's metric pipeline saving its models in `root`, on the clock `now`. */
function pipelineOn(
  root: RootDatabase,
  now: () => number,
  opts: { emit?: (s: Signal) => void; logger?: typeof quietLogger; saveIntervalMs?: number } = {},
): MetricPipeline {
  return new MetricPipeline({
    node: 'n1',
    emit: opts.emit ?? (() => {}),
    logger: opts.logger ?? quietLogger,
    models: { root, saveIntervalMs: opts.saveIntervalMs ?? 0 },
    now,
  });
}

describe('metric model store', { timeout: 60_000 }, () => {
  it('restores what the previous pipeline learned and logs how many series', async () => {
    const root = openRoot(tempDir('models'));
    const now = { ms: T0 + 40 * 60_000 };
    const a = pipelineOn(root, () => now.ms);
    await feed(a, 0, 40);
    await a.close();
    await expect(new MetricModelStore(root, { maxAgeMs: 24 * HOUR }).load(now.ms)).resolves.toMatchObject({
      stale: 0,
      malformed: 0,
    });

    const { logger, lines } = recording();
    const signals: Signal[] = [];
    const b = pipelineOn(root, () => now.ms, { emit: (s) => signals.push(s), logger });
    // The leak has been watched 40 min; after 25 more a fresh forecaster could not warn (1 h ring).
    await feed(b, 40, 25);
    await b.close();
    expect(lines.find((l) => l['msg'] === 'metric pipeline restored its models')).toMatchObject({
      restored: 2,
      skipped: 0,
    });
    expect(signals.filter((s) => s.kind === 'metric.exhaustion_forecast')).toHaveLength(1);
  });

  it('does not use states older than the age bound, and removes series unseen that long', async () => {
    const root = openRoot(tempDir('models'));
    const now = { ms: T0 + 10 * 60_000 };
    const a = pipelineOn(root, () => now.ms);
    await feed(a, 0, 10);
    await a.close();
    const store = new MetricModelStore(root, { maxAgeMs: 24 * HOUR });
    // A day later the node pipeline is back; only one of the series still exists.
    now.ms += 25 * HOUR;
    expect(await store.load(now.ms)).toMatchObject({ states: [], stale: 2 });
    expect([...root.openDB({ name: METRIC_MODELS_DB }).getKeys({})]).toEqual([]);

    // Periodic saves drop series that stopped being sampled once they are older than the bound.
    const fresh = new MetricModelStore(root, { maxAgeMs: HOUR });
    const state = { counter: false, detector: new Float64Array(4), lastTimeMs: now.ms };
    await fresh.save([{ series: 'old', ...state }], now.ms);
    await fresh.save([{ series: 'new', ...state, lastTimeMs: now.ms + 2 * HOUR }], now.ms + 2 * HOUR);
    expect([...root.openDB({ name: METRIC_MODELS_DB }).getKeys({})]).toEqual(['new']);
    expect(fresh.size).toBe(1);
  });

  it('skips and removes damaged records, and learns those series afresh', async () => {
    const root = openRoot(tempDir('models'));
    const db = root.openDB<unknown, string>({ name: METRIC_MODELS_DB, encoding: 'msgpack' });
    await db.put('not-a-record', 'hello');
    await db.put('odd-bytes', { v: 1, counter: false, lastTimeMs: T0, detector: new Uint8Array(13) });
    await db.put('future', { v: 99, counter: false, lastTimeMs: T0, detector: new Uint8Array(16) });
    // Readable bytes but not a detector state: the pool refuses it (counted as skipped).
    await db.put('garbage', { v: 1, counter: false, lastTimeMs: T0, detector: new Uint8Array(64) });
    const { logger, lines } = recording();
    const p = pipelineOn(root, () => T0, { logger });
    await feed(p, 0, 1);
    await p.close();
    expect(lines.find((l) => l['msg'] === 'metric pipeline restored its models')).toMatchObject({
      restored: 0,
      skipped: 1,
      malformed: 3,
    });
    expect([...db.getKeys({})].sort()).toEqual([
      'container.memory.current_bytes|container/n1/shop/db-0/pg|',
      'garbage',
      'node.load.1m||',
    ]);
  });

  it('saves periodically while it runs', async () => {
    const root = openRoot(tempDir('models'));
    const { logger, lines } = recording();
    const p = pipelineOn(root, () => T0 + 60_000, { logger, saveIntervalMs: 20 });
    await feed(p, 0, 1);
    const deadline = Date.now() + 10_000;
    while (!lines.some((l) => l['msg'] === 'metric models saved' && Number(l['written']) > 0)) {
      if (Date.now() > deadline) throw new Error('no periodic save');
      await new Promise((r) => setTimeout(r, 20));
    }
    expect([...root.openDB({ name: METRIC_MODELS_DB }).getKeys({})]).toHaveLength(2);
    await p.close();
  });
});
