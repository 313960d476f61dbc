// One worker thread for the agent's log mining and metric detection. Every thread is a V8 isolate of its own,
// ≈ 13 MiB before any of our code runs; on a node both loads are small (the mining of a window close, a few
// hundred series), so they share one. Tasks name their handler (piscina's `name`): `logs` or `metrics`.
import { Piscina } from 'piscina';
import type { MinerOptions } from './logs/miner.ts';
import type { MetricWorkerData } from './metrics/pool-worker.ts';

const WORKER_URL = new URL('./detection-worker.ts', import.meta.url).href;

/** A worker thread a pool runs its tasks on, under the handler `name`; `owned` pools destroy it at close. */
export interface TaskThread {
  piscina: Piscina;
  name: string;
  owned: boolean;
}

/** What both workers read at start: the miner options and the metric detectors' options. */
export type DetectionWorkerData = { minerOptions?: MinerOptions } & MetricWorkerData;

/** One thread, run by a single worker in task order per pool (each pool chains its own tasks). */
export function singleThread(filename: string, workerData: unknown): Piscina {
  return new Piscina({
    filename,
    minThreads: 1,
    maxThreads: 1,
    concurrentTasksPerWorker: 1,
    idleTimeout: Number.POSITIVE_INFINITY,
    workerData,
  });
}

export function startDetectionThread(data: DetectionWorkerData = {}): Piscina {
  return singleThread(WORKER_URL, data);
}
