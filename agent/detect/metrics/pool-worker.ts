// Worker-thread side of the metric detection pool (pool.ts). Each worker owns the detectors (and, for
// usage-vs-capacity series, the forecasters) of the series routed to it; batches of samples arrive as
// typed arrays, and only detections and forecast warnings go back.
import { workerData } from 'node:worker_threads';
import { move, transferableSymbol, valueSymbol } from 'piscina';
import {
  createSeriesDetector,
  type SeriesDetector,
  type SeriesDetectorOptions,
  type SeriesUpdate,
} from './detector.ts';
import {
  createExhaustionForecaster,
  type ExhaustionForecaster,
  type Forecast,
  type ForecastOptions,
} from './forecast.ts';
import { type PackedModels, packModels, type SeriesModelState, unpackModels } from './model-pack.ts';

export type { PackedModels, SeriesModelState } from './model-pack.ts';

/**
 * Samples of many series, column-wise so they cross the thread boundary as a few typed arrays. Series are
 * numbered per worker: a name crosses once (in `newSeries`), then only its number does.
 */
export interface SampleBatch {
  op: 'batch';
  ids: Uint32Array;
  newSeries?: Array<[number, string]>;
  timesMs: Float64Array;
  values: Float64Array;
  /** Capacity per sample (NaN when the series has none): turns on the exhaustion forecast. */
  capacities?: Float64Array;
  /** 1 where the value is a monotonically increasing counter (scored as a rate). */
  counters?: Uint8Array;
}
export interface DropTask {
  op: 'drop';
  series: string[];
}
export interface StatsTask {
  op: 'stats';
}
/** Asks for the state of the series that changed since the last snapshot. */
export interface SnapshotTask {
  op: 'snapshot';
  /** Restored states still waiting for their series whose last sample is older than this are forgotten. */
  staleBeforeMs?: number;
}
/** States to continue from when their series next shows up (before its first sample). */
export interface RestoreTask {
  op: 'restore';
  states: PackedModels;
}
export type MetricTask = SampleBatch | DropTask | StatsTask | SnapshotTask | RestoreTask;

export interface RestoreResult {
  /** Series with at least one model restored. */
  restored: number;
  /** Detector or forecaster states refused (another layout version or options, malformed): started afresh. */
  skipped: number;
}

export interface Detection {
  series: string;
  timeMs: number;
  update: SeriesUpdate;
}
export interface ForecastWarning {
  series: string;
  forecast: Forecast;
}
export interface BatchResult {
  detections: Detection[];
  /** Forecasts that opened a warning episode in this batch. */
  warnings: ForecastWarning[];
  samples: number;
  /** Time the worker spent on the batch, ms (its CPU cost: the worker does nothing else meanwhile). */
  workerMs: number;
}
export interface WorkerStats {
  series: number;
  stateBytes: number;
  /** Restored states whose series has not shown up yet. */
  waiting: number;
}

export interface MetricWorkerData {
  detector?: SeriesDetectorOptions;
  forecast?: ForecastOptions;
  /** Series kept per worker; the least recently created are forgotten beyond it. */
  maxSeries?: number;
}

interface SeriesState {
  name: string;
  counter: boolean;
  detector: SeriesDetector;
  forecaster: ExhaustionForecaster | undefined;
  lastTimeMs: number;
  /** Learned something since the last snapshot. */
  dirty: boolean;
}

/** Restored models, built and validated, waiting for their series' first sample. */
interface WaitingModels {
  counter: boolean;
  detector: SeriesDetector | undefined;
  forecaster: ExhaustionForecaster | undefined;
  lastTimeMs: number;
}

const config = (workerData ?? {}) as MetricWorkerData;
const maxSeries = config.maxSeries ?? 100_000;
const names = new Map<number, string>();
const states = new Map<number, SeriesState>();
const idsByName = new Map<string, number>();
const waiting = new Map<string, WaitingModels>();

function stateOf(id: number, counter: boolean): SeriesState {
  let s = states.get(id);
  if (s === undefined) {
    if (states.size >= maxSeries) {
      const oldest = states.keys().next().value;
      if (oldest !== undefined) states.delete(oldest);
    }
    const name = names.get(id) ?? String(id);
    // A restored model of the same mode continues; the gap since its last sample is just a gap.
    const restored = waiting.get(name);
    if (restored !== undefined) waiting.delete(name);
    const usable = restored !== undefined && restored.counter === counter ? restored : undefined;
    s = {
      name,
      counter,
      detector:
        usable?.detector ?? createSeriesDetector({ ...config.detector, mode: counter ? 'counter' : 'gauge' }),
      forecaster: usable?.forecaster,
      lastTimeMs: Number.NaN,
      dirty: true,
    };
    states.set(id, s);
  }
  return s;
}

function restore(task: RestoreTask): RestoreResult {
  let restored = 0;
  let skipped = 0;
  for (const m of unpackModels(task.states)) {
    let detector: SeriesDetector | undefined;
    let forecaster: ExhaustionForecaster | undefined;
    try {
      detector = createSeriesDetector(
        { ...config.detector, mode: m.counter ? 'counter' : 'gauge' },
        m.detector,
      );
    } catch {
      skipped++;
    }
    if (m.forecaster !== undefined)
      try {
        forecaster = createExhaustionForecaster(config.forecast, m.forecaster);
      } catch {
        skipped++;
      }
    if (detector === undefined && forecaster === undefined) continue;
    waiting.set(m.series, { counter: m.counter, detector, forecaster, lastTimeMs: m.lastTimeMs });
    restored++;
  }
  return { restored, skipped };
}

function snapshot(task: SnapshotTask): PackedModels {
  const out: SeriesModelState[] = [];
  for (const s of states.values()) {
    if (!s.dirty) continue;
    s.dirty = false;
    const m: SeriesModelState = {
      series: s.name,
      counter: s.counter,
      detector: s.detector.serialize(),
      lastTimeMs: s.lastTimeMs,
    };
    if (s.forecaster) m.forecaster = s.forecaster.serialize();
    out.push(m);
  }
  const staleBefore = task.staleBeforeMs;
  if (staleBefore !== undefined)
    for (const [name, w] of waiting) if (!(w.lastTimeMs >= staleBefore)) waiting.delete(name);
  return packModels(out);
}

function runBatch(task: SampleBatch): BatchResult {
  const started = performance.now();
  for (const [id, name] of task.newSeries ?? []) {
    names.set(id, name);
    idsByName.set(name, id);
  }
  const detections: Detection[] = [];
  const warnings: ForecastWarning[] = [];
  const n = task.ids.length;
  for (let i = 0; i < n; i++) {
    const timeMs = task.timesMs[i] as number;
    const value = task.values[i] as number;
    const s = stateOf(task.ids[i] as number, task.counters?.[i] === 1);
    s.dirty = true;
    s.lastTimeMs = timeMs;
    const update = s.detector.update(timeMs, value);
    if (update.anomaly) detections.push({ series: s.name, timeMs, update });
    const capacity = task.capacities?.[i] ?? Number.NaN;
    if (Number.isFinite(capacity) && capacity > 0) {
      s.forecaster ??= createExhaustionForecaster(config.forecast);
      const forecast = s.forecaster.update(timeMs, value, capacity);
      if (forecast?.started) warnings.push({ series: s.name, forecast });
    }
  }
  return { detections, warnings, samples: n, workerMs: performance.now() - started };
}

export default function handle(
  task: MetricTask,
): BatchResult | WorkerStats | PackedModels | RestoreResult | null {
  if (task.op === 'batch') return runBatch(task);
  if (task.op === 'snapshot') {
    const packed = snapshot(task);
    // Transferred, not cloned: one buffer for every series' state.
    const movable = {
      [transferableSymbol]: [packed.data.buffer, packed.offsets.buffer, packed.lastTimeMs.buffer],
      [valueSymbol]: packed,
    };
    return move(movable as unknown as ArrayBuffer) as unknown as PackedModels;
  }
  if (task.op === 'restore') return restore(task);
  if (task.op === 'drop') {
    for (const name of task.series) {
      waiting.delete(name);
      const id = idsByName.get(name);
      if (id === undefined) continue;
      states.delete(id);
      names.delete(id);
      idsByName.delete(name);
    }
    return null;
  }
  let stateBytes = 0;
  for (const s of states.values())
    stateBytes += s.detector.serialize().byteLength + (s.forecaster?.serialize().byteLength ?? 0);
  return { series: states.size, stateBytes, waiting: waiting.size };
}
