// What metric series have learned, kept in LMDB across agent restarts (named database `metric-models`, one
// msgpack record per series key). A DaemonSet rolling upgrade restarts every agent: without this each
// detector would warm up from nothing and each exhaustion forecast would be blind for a ring (1 h).
// Records are bounded: a series unseen for `maxAgeMs` (its pod is gone) is removed, and a state that old is
// not used (the series has moved on).
import type { Database, RootDatabase } from 'lmdb';
import type { SeriesModelState } from './pool-worker.ts';

/** Layout of one record; a record of another version is skipped (and removed) at load. */
const RECORD_VERSION = 1;

interface ModelRecord {
  v: number;
  counter: boolean;
  /** Time of the series' last sample, ms. */
  lastTimeMs: number;
  /** The detector's and forecaster's `serialize()`, as little-endian float64 bytes. */
  detector: Uint8Array;
  forecaster?: Uint8Array;
}

export interface LoadedModels {
  states: SeriesModelState[];
  /** Records older than the age bound (removed). */
  stale: number;
  /** Records that could not be read (removed). */
  malformed: number;
}

export interface SaveResult {
  written: number;
  removed: number;
  /** Bytes of the keys and states written (msgpack framing, ≈ 40 bytes a record, not counted). */
  bytes: number;
}

export const METRIC_MODELS_DB = 'metric-models';

function toBytes(a: Float64Array): Uint8Array {
  return new Uint8Array(a.buffer, a.byteOffset, a.byteLength);
}

function toFloats(b: unknown): Float64Array | undefined {
  if (!(b instanceof Uint8Array) || b.byteLength % 8 !== 0 || b.byteLength === 0) return undefined;
  // Copied: LMDB's buffer may be unaligned and is reused after the read.
  return new Float64Array(Uint8Array.from(b).buffer);
}

export class MetricModelStore {
  private readonly db: Database<ModelRecord, string>;
  private readonly root: RootDatabase;
  private readonly maxAgeMs: number;
  /** Last sample time of every series in the database: pruning needs no scan. */
  private readonly lastSeen = new Map<string, number>();

  constructor(root: RootDatabase, opts: { maxAgeMs: number }) {
    this.root = root;
    this.maxAgeMs = opts.maxAgeMs;
    this.db = root.openDB<ModelRecord, string>({ name: METRIC_MODELS_DB, encoding: 'msgpack' });
  }

  /** Every usable state; stale and unreadable records are counted and removed. */
  async load(nowMs: number): Promise<LoadedModels> {
    const states: SeriesModelState[] = [];
    const doomed: string[] = [];
    let stale = 0;
    let malformed = 0;
    for (const { key, value } of this.db.getRange({})) {
      const r = value as Partial<ModelRecord> | undefined;
      const detector = toFloats(r?.detector);
      const forecaster = r?.forecaster === undefined ? undefined : toFloats(r.forecaster);
      if (
        typeof key !== 'string' ||
        r?.v !== RECORD_VERSION ||
        typeof r.lastTimeMs !== 'number' ||
        detector === undefined ||
        (r.forecaster !== undefined && forecaster === undefined)
      ) {
        malformed++;
        doomed.push(String(key));
        continue;
      }
      if (!(r.lastTimeMs >= nowMs - this.maxAgeMs)) {
        stale++;
        doomed.push(key);
        continue;
      }
      const state: SeriesModelState = {
        series: key,
        counter: r.counter === true,
        detector,
        lastTimeMs: r.lastTimeMs,
      };
      if (forecaster) state.forecaster = forecaster;
      states.push(state);
      this.lastSeen.set(key, r.lastTimeMs);
    }
    if (doomed.length > 0)
      await this.root.transaction(() => {
        for (const key of doomed) this.db.remove(key);
      });
    return { states, stale, malformed };
  }

  /** Writes the states and removes series unseen for the age bound, in one transaction. */
  async save(states: readonly SeriesModelState[], nowMs: number): Promise<SaveResult> {
    const staleBefore = nowMs - this.maxAgeMs;
    const gone: string[] = [];
    for (const s of states) this.lastSeen.set(s.series, s.lastTimeMs);
    for (const [key, last] of this.lastSeen) if (!(last >= staleBefore)) gone.push(key);
    let bytes = 0;
    let written = 0;
    if (states.length === 0 && gone.length === 0) return { written, removed: 0, bytes };
    await this.root.transaction(() => {
      for (const s of states) {
        if (!(s.lastTimeMs >= staleBefore)) continue;
        const record: ModelRecord = {
          v: RECORD_VERSION,
          counter: s.counter,
          lastTimeMs: s.lastTimeMs,
          detector: toBytes(s.detector),
        };
        if (s.forecaster) record.forecaster = toBytes(s.forecaster);
        this.db.put(s.series, record);
        written++;
        bytes += s.series.length + s.detector.byteLength + (s.forecaster?.byteLength ?? 0);
      }
      for (const key of gone) this.db.remove(key);
    });
    for (const key of gone) this.lastSeen.delete(key);
    return { written, removed: gone.length, bytes };
  }

  /** Series held in the database. */
  get size(): number {
    return this.lastSeen.size;
  }
}
