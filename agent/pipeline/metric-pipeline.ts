// Node and container samples → streaming detectors and exhaustion forecasts in the worker pool → signals.
// Every sample of a watched series is scored as it comes (batched per sampling tick across the thread
// boundary), counter rates (CPU) over 5 s spans (`rate-span.ts`); series that have a capacity (memory
// limit, disk size, pid max) also get a time-to-exhaustion forecast, so a leak is announced before it kills
// anything. What the detectors and forecasters have learned
// is kept in LMDB (`metric-models`): restored before the first sample, saved periodically and at close.

import type { RootDatabase } from 'lmdb';
import type { Logger } from '../../common/log.ts';
import type { Signal, Subject } from '../../common/signal.ts';
import type { TaskThread } from '../detect/detection-thread.ts';
import { MetricModelStore, type SaveResult } from '../detect/metrics/model-store.ts';
import {
  createMetricDetectionPool,
  type MetricDetectionPool,
  type MetricSample,
} from '../detect/metrics/pool.ts';
import { RateSpan } from '../detect/metrics/rate-span.ts';
import {
  anomalySignal,
  forecastSignal,
  type MetricUnit,
  type SeriesIdentity,
} from '../detect/metrics/signals.ts';
import type { SampleMeta } from '../summarize/digest.ts';

/**
 * The series worth scoring, with how to speak of their values; `rate` marks a counter's rate over one sample
 * interval, which the detector sees over a span (`RateSpan`). Others are shipped as digests only.
 */
const WATCHED: Record<string, { unit: MetricUnit; rate?: true }> = {
  'node.cpu.utilization': { unit: 'none', rate: true },
  'node.memory.used_bytes': { unit: 'bytes' },
  'node.swap.used_bytes': { unit: 'bytes' },
  'node.load.1m': { unit: 'none' },
  'node.fs.used_bytes': { unit: 'bytes' },
  'node.fs.inodes_used': { unit: 'count' },
  'node.pids.current': { unit: 'count' },
  'container.memory.current_bytes': { unit: 'bytes' },
  'container.cpu.cores': { unit: 'cores', rate: true },
  'container.cpu.throttled_ratio': { unit: 'none', rate: true },
  'container.pids.current': { unit: 'count' },
};

function watched(name: string): { unit: MetricUnit; rate?: true } | undefined {
  if (name in WATCHED) return WATCHED[name];
  // Pressure stall: `*_avg10` is the kernel's own 10 s average, `*_stalled_ratio` our rate of its total.
  if (name.startsWith('node.psi.'))
    return name.endsWith('_stalled_ratio') ? { unit: 'none', rate: true } : { unit: 'none' };
  return undefined;
}

function label(name: string, subject: Subject, labels: Record<string, string> | undefined): string {
  const what = name
    .split('.')
    .slice(1)
    .join(' ')
    .replace(/_bytes$|_current$/, '')
    .replace(/_/g, ' ');
  if (subject.kind === 'container')
    return `${what} of ${subject.namespace}/${subject.pod}/${subject.container}`;
  const detail = labels ? Object.values(labels).join(' ') : '';
  return `node ${subject.node} ${what}${detail ? ` ${detail}` : ''}`;
}

/** A learned state older than this is not used, and a series unseen this long leaves the database. */
export const MODEL_MAX_AGE_MS = 24 * 3_600_000;

const PRUNE_EVERY_MS = 3_600_000;

interface WatchedSeries {
  id: SeriesIdentity;
  lastMs: number;
  span: RateSpan | undefined;
}

export interface MetricPipelineOptions {
  node: string;
  emit: (s: Signal) => void;
  logger: Logger;
  threads?: number;
  /**
   * Detect on this thread (the agent's shared detection thread, started with `metricWorkerData` of the same
   * `forecastStepMs`) instead of threads of the pipeline's own.
   */
  thread?: TaskThread;
  /** Keep learned models in this LMDB root: restored before the first sample, saved every `saveIntervalMs`
   * (0: only at close) and at close. */
  models?: { root: RootDatabase; saveIntervalMs: number; maxAgeMs?: number };
  /** Averaging step of the exhaustion forecasts (their ring is 60 steps). Default 60 s. */
  forecastStepMs?: number;
  /** Wall clock, for the age of stored models. */
  now?: () => number;
}

export class MetricPipeline {
  private readonly pool: MetricDetectionPool;
  /** Every series seen: how to speak of it, when it was last sampled, and its rate span if it is a rate. */
  private readonly known = new Map<string, WatchedSeries>();
  private prunedAtMs: number;
  private pending: MetricSample[] = [];
  private chain: Promise<unknown> = Promise.resolve();
  private readonly opts: MetricPipelineOptions;
  private readonly store: MetricModelStore | undefined;
  private readonly maxAgeMs: number;
  private readonly now: () => number;
  private saveTimer: NodeJS.Timeout | undefined;

  constructor(opts: MetricPipelineOptions) {
    this.opts = opts;
    this.now = opts.now ?? Date.now;
    this.prunedAtMs = this.now();
    this.maxAgeMs = opts.models?.maxAgeMs ?? MODEL_MAX_AGE_MS;
    this.pool = createMetricDetectionPool({
      threads: opts.threads ?? 1,
      ...(opts.forecastStepMs !== undefined ? { forecast: { stepMs: opts.forecastStepMs } } : {}),
      ...(opts.thread ? { thread: opts.thread } : {}),
    });
    if (opts.models) {
      const store = new MetricModelStore(opts.models.root, { maxAgeMs: this.maxAgeMs });
      this.store = store;
      // First in the chain: no sample is scored before the models it continues are in place.
      this.chain = this.restore(store).catch((error: unknown) =>
        opts.logger.warn({ err: error }, 'metric models could not be restored; learning afresh'),
      );
      if (opts.models.saveIntervalMs > 0) {
        this.saveTimer = setInterval(() => void this.saveModels(), opts.models.saveIntervalMs);
        this.saveTimer.unref();
      }
    }
  }

  private async restore(store: MetricModelStore): Promise<void> {
    const loaded = await store.load(this.now());
    const result = await this.pool.restore(loaded.states);
    this.opts.logger.info(
      {
        restored: result.restored,
        skipped: result.skipped,
        stale: loaded.stale,
        malformed: loaded.malformed,
      },
      'metric pipeline restored its models',
    );
  }

  /** Writes the models of the series that took samples since the last save (one transaction). */
  saveModels(): Promise<SaveResult | undefined> {
    const store = this.store;
    if (!store) return Promise.resolve(undefined);
    const run = this.chain.then(async () => {
      const started = performance.now();
      const nowMs = this.now();
      const states = await this.pool.snapshot({ staleBeforeMs: nowMs - this.maxAgeMs });
      const result = await store.save(states, nowMs);
      this.opts.logger.debug(
        { ...result, series: store.size, ms: Math.round(performance.now() - started) },
        'metric models saved',
      );
      return result;
    });
    this.chain = run.catch((error: unknown) =>
      this.opts.logger.warn({ err: error }, 'metric models could not be saved'),
    );
    return run.catch(() => undefined);
  }

  /** A raw sample (the digest accumulator's listener). */
  observe(key: string, name: string, value: number, meta: SampleMeta, timeMs = Date.now()): void {
    let entry = this.known.get(key);
    if (!entry) {
      const how = watched(name);
      if (how === undefined) return;
      const subject = meta.subject ?? { kind: 'node', node: this.opts.node };
      const id = { subject, metric: name, label: label(name, subject, meta.labels), unit: how.unit };
      entry = { id, lastMs: timeMs, span: how.rate ? new RateSpan() : undefined };
      this.known.set(key, entry);
    }
    entry.lastMs = timeMs;
    const scored = entry.span ? entry.span.add(timeMs, value) : value;
    if (scored === undefined) return;
    const sample: MetricSample = { series: key, timeMs, value: scored };
    if (meta.capacity !== undefined && Number.isFinite(meta.capacity) && meta.capacity > 0)
      sample.capacity = meta.capacity;
    this.pending.push(sample);
  }

  /** Forgets series unseen for the models' age bound (containers come and go), at most once an hour. */
  private prune(): void {
    const nowMs = this.now();
    if (nowMs - this.prunedAtMs < PRUNE_EVERY_MS) return;
    this.prunedAtMs = nowMs;
    for (const [key, entry] of this.known) if (entry.lastMs < nowMs - this.maxAgeMs) this.known.delete(key);
  }

  /** Scores what was observed since the last flush; signals go to `emit`. */
  flush(): Promise<void> {
    this.prune();
    const batch = this.pending;
    this.pending = [];
    if (batch.length === 0) return this.chain.then(() => {});
    const run = this.chain.then(async () => {
      const result = await this.pool.process(batch);
      for (const d of result.detections) {
        // Usage falling is not worth a signal on its own (a crash or a stall shows in pod and log signals, and
        // a stalled counter file reads as a drop to zero); rising usage is what exhausts a node.
        if (d.update.value < d.update.expected) continue;
        const id = this.known.get(d.series)?.id;
        const s = id && anomalySignal(id, d.timeMs, d.update);
        if (s) this.opts.emit(s);
      }
      for (const w of result.warnings) {
        this.opts.logger.debug(
          { series: w.series, timeMs: w.forecast.timeMs, etaMs: w.forecast.etaMs },
          'exhaustion forecast opened',
        );
        const id = this.known.get(w.series)?.id;
        const s = id && forecastSignal(id, w.forecast);
        if (s) this.opts.emit(s);
      }
    });
    this.chain = run.catch((error: unknown) =>
      this.opts.logger.warn({ err: error }, 'metric detection failed'),
    );
    return this.chain.then(() => {});
  }

  get series(): number {
    return this.known.size;
  }

  /** Scores what is pending, saves the models, and stops the workers. */
  async close(): Promise<void> {
    clearInterval(this.saveTimer);
    await this.flush();
    const saved = await this.saveModels();
    if (saved) this.opts.logger.info({ ...saved, series: this.store?.size }, 'metric models saved at close');
    await this.chain;
    await this.pool.close();
  }
}
