// Cost of keeping learned metric models across restarts: for N series with a detector and a forecaster each,
// the size of a snapshot and of the LMDB records, the time of one periodic save (pool snapshot + one LMDB
// transaction) and of the restore at start (read + validate + load into a new pool).
import { mkdtempSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pino } from 'pino';
import { MetricModelStore } from '../../agent/detect/metrics/model-store.ts';
import { createMetricDetectionPool, type MetricSample } from '../../agent/detect/metrics/pool.ts';
import { openLmdb } from '../../common/store/lmdb.ts';

export interface PersistenceCost {
  series: number;
  runs: number;
  /** Serialised detector + forecaster per series, bytes. */
  stateBytesPerSeries: number;
  /** Keys and states written by one save of every series, bytes. */
  snapshotBytes: number;
  /** LMDB file size after the saves, bytes. */
  lmdbFileBytes: number;
  /** One save (snapshot from the worker + one LMDB transaction), wall ms, per run. */
  saveWallMs: number[];
  /** Process CPU (all threads) of one save, ms, per run. */
  saveCpuMs: number[];
  /** The two parts of a save, wall ms per run: the snapshot from the worker, the LMDB transaction. */
  snapshotWallMs: number[];
  writeWallMs: number[];
  /** Restore at start: read every record, validate, load into a new pool; wall ms. */
  restoreWallMs: number;
}

const cpuMs = (d: NodeJS.CpuUsage) => (d.user + d.system) / 1000;

export async function measurePersistence(
  series: number,
  valueAt: (i: number, t: number) => number,
  t0: number,
  runs = 5,
): Promise<PersistenceCost> {
  const dir = mkdtempSync(join(tmpdir(), 'vigil-bench-models-'));
  const { root } = openLmdb(join(dir, 'agent.mdb'), pino({ level: 'silent' }));
  const store = new MetricModelStore(root, { maxAgeMs: 24 * 3_600_000 });
  const pool = createMetricDetectionPool({ threads: 1 });
  const batch = (at: number): MetricSample[] =>
    Array.from({ length: series }, (_, i) => ({
      series: `container.memory.current_bytes|container/node-1/ns${i % 7}/app-${i}-5d8f7/c0|`,
      timeMs: at,
      value: valueAt(i, at),
      capacity: 4000,
    }));
  let t = t0;
  // A ring's worth of forecast steps and detectors past warm-up, so the states are the full-size ones.
  for (let s = 0; s < 120; s++, t += 30_000) await pool.process(batch(t));
  const saveWallMs: number[] = [];
  const saveCpuMs: number[] = [];
  const snapshotWallMs: number[] = [];
  const writeWallMs: number[] = [];
  let snapshotBytes = 0;
  let stateBytes = 0;
  for (let r = 0; r < runs; r++) {
    await pool.process(batch(t));
    t += 1000;
    const cpu = process.cpuUsage();
    const start = performance.now();
    const states = await pool.snapshot();
    const snapped = performance.now();
    const saved = await store.save(states, t);
    const end = performance.now();
    saveWallMs.push(end - start);
    snapshotWallMs.push(snapped - start);
    writeWallMs.push(end - snapped);
    saveCpuMs.push(cpuMs(process.cpuUsage(cpu)));
    snapshotBytes = saved.bytes;
    stateBytes =
      states.reduce((a, s) => a + s.detector.byteLength + (s.forecaster?.byteLength ?? 0), 0) / series;
  }
  await pool.close();
  const lmdbFileBytes = statSync(join(dir, 'agent.mdb')).size;

  const fresh = createMetricDetectionPool({ threads: 1 });
  const restoreStart = performance.now();
  const loaded = await new MetricModelStore(root, { maxAgeMs: 24 * 3_600_000 }).load(t);
  const restored = await fresh.restore(loaded.states);
  const restoreWallMs = performance.now() - restoreStart;
  if (restored.restored !== series) throw new Error(`restored ${restored.restored} of ${series} series`);
  await fresh.close();
  await root.close();
  rmSync(dir, { recursive: true, force: true });
  return {
    series,
    runs,
    stateBytesPerSeries: stateBytes,
    snapshotBytes,
    lmdbFileBytes,
    saveWallMs,
    saveCpuMs,
    snapshotWallMs,
    writeWallMs,
    restoreWallMs,
  };
}
