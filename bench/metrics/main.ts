// Cost of metric detection: CPU µs per sample and bytes of state per series, then what 2,000 series at one
// sample per second cost an agent (share of one core, memory). Anchor: Netdata's edge ML ≈ 5 KiB per metric
// and 1–5 % of a core per node. Usage: npx node bench/metrics/main.ts [--series N] [--seconds S]
import { mkdirSync, writeFileSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';
import { createSeriesDetector, type SeriesDetector } from '../../agent/detect/metrics/detector.ts';
import {
  createExhaustionForecaster,
  type ExhaustionForecaster,
} from '../../agent/detect/metrics/forecast.ts';
import { createMetricDetectionPool, type MetricSample } from '../../agent/detect/metrics/pool.ts';
import { gaussian, seededRandom } from '../forecast/scenarios.ts';
import { measurePersistence } from './persistence.ts';

const root = resolve(dirname(fileURLToPath(import.meta.url)), '../..');
const { values: args } = parseArgs({
  options: { series: { type: 'string', default: '2000' }, seconds: { type: 'string', default: '300' } },
});
const SERIES = Number(args.series);
const SECONDS = Number(args.seconds);
const T0 = Date.UTC(2026, 0, 5);

setFlagsFromString('--expose-gc');
const gc = runInNewContext('gc') as () => void;

const noise = gaussian(seededRandom(1));
// Realistic mix: noisy gauges at different levels, with a daily wave, so every code path runs.
const levels = Float64Array.from({ length: SERIES }, (_, i) => 10 + (i % 97) * 13);
const valueAt = (i: number, t: number) =>
  levels[i]! * (1 + 0.1 * Math.sin((2 * Math.PI * t) / 86_400_000)) + 0.05 * levels[i]! * noise();

function heapUsed(): number {
  gc();
  gc();
  return process.memoryUsage().heapUsed;
}

function cpuMicros(fn: () => void): number {
  const start = process.cpuUsage();
  fn();
  const d = process.cpuUsage(start);
  return d.user + d.system;
}

// --- state size ---
const heapBefore = heapUsed();
const detectors: SeriesDetector[] = Array.from({ length: SERIES }, () => createSeriesDetector());
for (let s = 0; s < 120; s++)
  for (let i = 0; i < SERIES; i++) detectors[i]!.update(T0 + s * 1000, valueAt(i, T0 + s * 1000));
const heapDetectorsOnly = (heapUsed() - heapBefore) / SERIES;
const forecasters: ExhaustionForecaster[] = Array.from({ length: SERIES }, () =>
  createExhaustionForecaster(),
);
// Warm everything up (fills rings, JIT) — 120 s of samples.
for (let s = 0; s < 120; s++)
  for (let i = 0; i < SERIES; i++) {
    const t = T0 + s * 1000;
    const v = valueAt(i, t);
    forecasters[i]!.update(t, v, 2000);
  }
const heapAfter = heapUsed();
const detectorBytes = detectors[0]!.serialize().byteLength;
const forecasterBytes = forecasters[0]!.serialize().byteLength;
const heapPerSeries = (heapAfter - heapBefore) / SERIES;

// --- CPU per sample, single thread, in-process ---
let t = T0 + 120_000;
const detectorMicros = cpuMicros(() => {
  for (let s = 0; s < SECONDS; s++, t += 1000)
    for (let i = 0; i < SERIES; i++) detectors[i]!.update(t, valueAt(i, t));
});
const forecastMicros = cpuMicros(() => {
  for (let s = 0; s < SECONDS; s++, t += 1000)
    for (let i = 0; i < SERIES; i++) forecasters[i]!.update(t, valueAt(i, t), 2000);
});
const noiseMicros = cpuMicros(() => {
  let sink = 0;
  for (let s = 0; s < SECONDS; s++, t += 1000) for (let i = 0; i < SERIES; i++) sink += valueAt(i, t);
  if (sink === 42) console.log('');
});
const samples = SECONDS * SERIES;
const detUs = Math.max(0, detectorMicros - noiseMicros) / samples;
const fcUs = Math.max(0, forecastMicros - noiseMicros) / samples;

// --- through the worker pool (1 thread): one batch per second of all series ---
const pool = createMetricDetectionPool({ threads: 1 });
const poolSeconds = Math.min(SECONDS, 120);
const makeBatch = (at: number): MetricSample[] =>
  Array.from({ length: SERIES }, (_, i) => ({ series: `s${i}`, timeMs: at, value: valueAt(i, at) }));
// Warm-up (detectors created, JIT settled) before measuring, as for the in-process figures.
for (let s = 0; s < 120; s++, t += 1000) await pool.process(makeBatch(t));
let workerMs = 0;
const poolStart = performance.now();
const cpuStart = process.cpuUsage();
for (let s = 0; s < poolSeconds; s++, t += 1000) {
  workerMs += (await pool.process(makeBatch(t))).workerMs;
}
const poolWallMs = performance.now() - poolStart;
const mainCpu = process.cpuUsage(cpuStart);
const poolStats = await pool.stats();
await pool.close();
// Worker time per sample (measured inside the worker) and the wall time per batch as an upper bound.
const poolUsPerSample = (workerMs * 1000) / (poolSeconds * SERIES);
const poolWallUsPerSample = (poolWallMs * 1000) / (poolSeconds * SERIES);

const coreShare = (usPerSample: number) => (100 * usPerSample * SERIES) / 1e6; // % of one core at 1 Hz
const rows = [
  { what: 'detector (per sample, in-process)', usPerSample: detUs, bytes: detectorBytes },
  { what: 'exhaustion forecaster (per sample, in-process)', usPerSample: fcUs, bytes: forecasterBytes },
  {
    what: 'detector in a pool worker (batches of 1 s of 2,000 series)',
    usPerSample: poolUsPerSample,
    bytes: poolStats.stateBytes / SERIES,
  },
  {
    what: 'pool round trip, wall clock (upper bound, shared machine)',
    usPerSample: poolWallUsPerSample,
    bytes: poolStats.stateBytes / SERIES,
  },
];
console.log(`| cost for ${SERIES} series at 1 s | µs per sample | state bytes per series | % of one core |`);
console.log('| --- | ---: | ---: | ---: |');
for (const r of rows)
  console.log(
    `| ${r.what} | ${r.usPerSample.toFixed(2)} | ${Math.round(r.bytes)} | ${coreShare(r.usPerSample).toFixed(2)} |`,
  );
console.log(`\nheap per series, detector only (after GC): ${Math.round(heapDetectorsOnly)} B`);
console.log(
  `heap per series (detector + forecaster, measured after GC): ${Math.round(heapPerSeries)} B ` +
    `(${(heapPerSeries / 1024).toFixed(2)} KiB; Netdata ≈ 5 KiB per metric)`,
);
console.log(
  `${SERIES} series, detector on all and forecaster on all: ${(coreShare(detUs) + coreShare(fcUs)).toFixed(2)} % of one core ` +
    `(Netdata 1–5 %), ${((heapPerSeries * SERIES) / 1024 / 1024).toFixed(1)} MiB`,
);
console.log(
  `pool main-thread CPU (incl. this benchmark generating the samples): ${((mainCpu.user + mainCpu.system) / poolSeconds / 1000).toFixed(2)} ms per batch of ${SERIES}`,
);

// --- learned models kept across restarts: snapshot size, periodic save, restore at start ---
const persistence = await measurePersistence(SERIES, valueAt, t);
const range = (xs: number[]) => `${Math.min(...xs).toFixed(1)}–${Math.max(...xs).toFixed(1)}`;
console.log(`\n| models kept across restarts, ${SERIES} series (detector + forecaster each) | figure |`);
console.log('| --- | ---: |');
console.log(`| state per series (serialised) | ${Math.round(persistence.stateBytesPerSeries)} B |`);
console.log(
  `| one save of every series (keys + states) | ${(persistence.snapshotBytes / 2 ** 20).toFixed(2)} MiB |`,
);
console.log(
  `| LMDB file after ${persistence.runs} saves | ${(persistence.lmdbFileBytes / 2 ** 20).toFixed(2)} MiB |`,
);
console.log(
  `| one save: worker snapshot + one LMDB transaction, wall ms (${persistence.runs} runs) | ${range(persistence.saveWallMs)} |`,
);
console.log(
  `| one save, process CPU ms, all threads (${persistence.runs} runs) | ${range(persistence.saveCpuMs)} |`,
);
console.log(`| of which the snapshot from the worker, wall ms | ${range(persistence.snapshotWallMs)} |`);
console.log(
  `| of which the LMDB transaction (msgpack, put, commit), wall ms | ${range(persistence.writeWallMs)} |`,
);
console.log(
  `| restore at start: read, validate, load into a new pool, wall ms | ${persistence.restoreWallMs.toFixed(1)} |`,
);

mkdirSync(join(root, 'bench/results'), { recursive: true });
writeFileSync(
  join(root, 'bench/results/metrics.json'),
  `${JSON.stringify(
    {
      benchmark: 'metrics',
      series: SERIES,
      secondsMeasured: SECONDS,
      detector: { usPerSample: detUs, stateBytes: detectorBytes },
      forecaster: { usPerSample: fcUs, stateBytes: forecasterBytes },
      pool: {
        threads: 1,
        usPerSampleWorker: poolUsPerSample,
        usPerSampleWall: poolWallUsPerSample,
        stateBytesPerSeries: poolStats.stateBytes / SERIES,
      },
      heapBytesPerSeries: heapPerSeries,
      heapBytesPerSeriesDetectorOnly: heapDetectorsOnly,
      totals: {
        coreSharePercent: coreShare(detUs) + coreShare(fcUs),
        heapMiB: (heapPerSeries * SERIES) / 1024 / 1024,
      },
      persistence,
      anchor: { netdataBytesPerMetric: 5 * 1024, netdataCoreSharePercent: [1, 5] },
    },
    null,
    2,
  )}\n`,
);
