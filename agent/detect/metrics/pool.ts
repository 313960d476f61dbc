// Metric detection off the main thread: one piscina pool per shard, one worker thread each, so every
// sample of a series reaches the same worker (which holds that series' detector) in order. Callers hand
// over batches of samples for many series; the pool splits them by shard into column arrays.
import { singleThread, type TaskThread } from '../detection-thread.ts';
import type { SeriesDetectorOptions } from './detector.ts';
import type { ForecastOptions } from './forecast.ts';
import { packModels, unpackModels } from './model-pack.ts';
import type {
  BatchResult,
  MetricTask,
  MetricWorkerData,
  PackedModels,
  RestoreResult,
  SampleBatch,
  SeriesModelState,
  WorkerStats,
} from './pool-worker.ts';

export type {
  BatchResult,
  Detection,
  ForecastWarning,
  RestoreResult,
  SeriesModelState,
  WorkerStats,
} from './pool-worker.ts';

export interface MetricSample {
  series: string;
  timeMs: number;
  value: number;
  /** Set for usage-vs-capacity series (memory vs limit, disk bytes vs size): enables the forecast. */
  capacity?: number;
  /** The value is a monotonically increasing counter: the detector scores its rate. */
  counter?: boolean;
}

export interface MetricPoolOptions {
  /** Worker threads (shards). Default 1. */
  threads?: number;
  detector?: SeriesDetectorOptions;
  forecast?: ForecastOptions;
  /** Series kept per worker. Default 100 000. */
  maxSeries?: number;
  /**
   * Run on this thread (the agent's shared detection thread, handler `metrics`) instead of threads of its own;
   * it was started with the options above (`metricWorkerData`), and whoever started it closes it.
   */
  thread?: TaskThread;
}

/** What the workers read at start, from the pool's options. */
export function metricWorkerData(opts: Omit<MetricPoolOptions, 'threads' | 'thread'>): MetricWorkerData {
  const data: MetricWorkerData = {};
  if (opts.detector) data.detector = opts.detector;
  if (opts.forecast) data.forecast = opts.forecast;
  if (opts.maxSeries !== undefined) data.maxSeries = opts.maxSeries;
  return data;
}

const WORKER_URL = new URL('./pool-worker.ts', import.meta.url).href;

/** FNV-1a of the series id: a stable shard for each series. */
export function seriesShard(series: string, shards: number): number {
  let h = 0x811c9dc5;
  for (let i = 0; i < series.length; i++) h = Math.imul(h ^ series.charCodeAt(i), 0x01000193);
  return (h >>> 0) % shards;
}

export interface MetricDetectionPool {
  /** Scores a batch of samples (any mix of series, each series in time order). */
  process(samples: readonly MetricSample[]): Promise<BatchResult>;
  /** Forgets series that are gone (their container was removed). */
  drop(series: readonly string[]): Promise<void>;
  stats(): Promise<WorkerStats>;
  /**
   * The learned state of every series that took a sample since the last snapshot. Restored states still
   * waiting for a series whose last sample is older than `staleBeforeMs` are forgotten meanwhile.
   */
  snapshot(opts?: { staleBeforeMs?: number }): Promise<SeriesModelState[]>;
  /**
   * States to continue from (e.g. after an agent restart), taken up by each series at its next sample.
   * Call before that series' first sample. Refused states are counted, never thrown.
   */
  restore(states: readonly SeriesModelState[]): Promise<RestoreResult>;
  readonly threads: number;
  close(): Promise<void>;
}

export function createMetricDetectionPool(opts: MetricPoolOptions = {}): MetricDetectionPool {
  const threads = opts.threads ?? 1;
  if (!Number.isInteger(threads) || threads < 1)
    throw new RangeError('options.threads must be a positive integer');
  if (opts.thread && threads !== 1)
    throw new RangeError('a shared thread is one shard: options.threads must be 1');
  const data = metricWorkerData(opts);
  const shards: TaskThread[] = opts.thread
    ? [opts.thread]
    : Array.from({ length: threads }, () => ({
        piscina: singleThread(WORKER_URL, data),
        name: 'default',
        owned: true,
      }));

  // Series numbering per shard (the worker keeps the same table).
  const ids = shards.map(() => new Map<string, number>());
  let nextId = 0;

  function run<T>(shard: number, task: MetricTask, transferList?: ArrayBuffer[]): Promise<T> {
    const t = shards[shard] as TaskThread;
    return t.piscina.run(
      task,
      transferList ? { name: t.name, transferList } : { name: t.name },
    ) as Promise<T>;
  }

  async function process(samples: readonly MetricSample[]): Promise<BatchResult> {
    const byShard: MetricSample[][] = shards.map(() => []);
    for (const s of samples) (byShard[seriesShard(s.series, threads)] as MetricSample[]).push(s);
    const results = await Promise.all(
      byShard.map((part, shard) => {
        if (part.length === 0) return { detections: [], warnings: [], samples: 0, workerMs: 0 };
        const table = ids[shard] as Map<string, number>;
        const newSeries: Array<[number, string]> = [];
        const idArray = new Uint32Array(part.length);
        const timesMs = new Float64Array(part.length);
        const values = new Float64Array(part.length);
        part.forEach((s, i) => {
          let id = table.get(s.series);
          if (id === undefined) {
            id = nextId++;
            table.set(s.series, id);
            newSeries.push([id, s.series]);
          }
          idArray[i] = id;
          timesMs[i] = s.timeMs;
          values[i] = s.value;
        });
        const batch: SampleBatch = { op: 'batch', ids: idArray, timesMs, values };
        if (newSeries.length > 0) batch.newSeries = newSeries;
        if (part.some((s) => s.capacity !== undefined))
          batch.capacities = Float64Array.from(part, (s) => s.capacity ?? Number.NaN);
        if (part.some((s) => s.counter)) batch.counters = Uint8Array.from(part, (s) => (s.counter ? 1 : 0));
        return run<BatchResult>(shard, batch);
      }),
    );
    return {
      detections: results.flatMap((r) => r.detections),
      warnings: results.flatMap((r) => r.warnings),
      samples: results.reduce((a, r) => a + r.samples, 0),
      workerMs: results.reduce((a, r) => a + r.workerMs, 0),
    };
  }

  async function drop(series: readonly string[]): Promise<void> {
    const byShard: string[][] = shards.map(() => []);
    for (const s of series) {
      const shard = seriesShard(s, threads);
      (byShard[shard] as string[]).push(s);
      ids[shard]?.delete(s);
    }
    await Promise.all(
      byShard.map((part, shard) => (part.length ? run(shard, { op: 'drop', series: part }) : null)),
    );
  }

  async function stats(): Promise<WorkerStats> {
    const all = await Promise.all(shards.map((_, shard) => run<WorkerStats>(shard, { op: 'stats' })));
    return {
      series: all.reduce((a, s) => a + s.series, 0),
      stateBytes: all.reduce((a, s) => a + s.stateBytes, 0),
      waiting: all.reduce((a, s) => a + s.waiting, 0),
    };
  }

  async function snapshot(opts: { staleBeforeMs?: number } = {}): Promise<SeriesModelState[]> {
    const task: MetricTask = { op: 'snapshot' };
    if (opts.staleBeforeMs !== undefined) task.staleBeforeMs = opts.staleBeforeMs;
    const parts = await Promise.all(shards.map((_, shard) => run<PackedModels>(shard, task)));
    return parts.flatMap(unpackModels);
  }

  async function restore(states: readonly SeriesModelState[]): Promise<RestoreResult> {
    const byShard: SeriesModelState[][] = shards.map(() => []);
    for (const m of states) (byShard[seriesShard(m.series, threads)] as SeriesModelState[]).push(m);
    const results = await Promise.all(
      byShard.map((part, shard) => {
        if (part.length === 0) return { restored: 0, skipped: 0 };
        // One buffer, transferred, rather than thousands of small arrays cloned.
        const packed = packModels(part);
        return run<RestoreResult>(shard, { op: 'restore', states: packed }, [
          packed.data.buffer,
          packed.offsets.buffer,
          packed.lastTimeMs.buffer,
        ]);
      }),
    );
    return {
      restored: results.reduce((a, r) => a + r.restored, 0),
      skipped: results.reduce((a, r) => a + r.skipped, 0),
    };
  }

  return {
    process,
    drop,
    stats,
    snapshot,
    restore,
    threads,
    close: async () => {
      await Promise.all(shards.map((t) => (t.owned ? t.piscina.destroy() : undefined)));
    },
  };
}
