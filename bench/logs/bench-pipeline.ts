// What the log benches share: empty container log files in the kubelet layout, and the agent's LogPipeline
// opened on them as the agent opens it (no security detectors, no pod metadata). The class is a parameter so
// that a bench can run another checkout's pipeline (agent-scenario.ts --src).
import { appendFileSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import type { LogPipeline, LogPipelineOptions } from '../../agent/pipeline/log-pipeline.ts';
import type { Logger } from '../../common/log.ts';
import { openLmdb } from '../../common/store/lmdb.ts';
import { criLines } from './fixtures.ts';

/** `<hostRoot>/var/log/pods/bench_<pod>_<pod>-uid/app/0.log` (its directories created, the file not). */
export function podFile(hostRoot: string, pod: string): string {
  const dir = join(hostRoot, 'var/log/pods', `bench_${pod}_${pod}-uid`, 'app');
  mkdirSync(dir, { recursive: true });
  return join(dir, '0.log');
}

/** `count` empty pod log files (pods p0, p1, …). */
export function emptyPodFiles(hostRoot: string, count: number): string[] {
  const paths: string[] = [];
  for (let i = 0; i < count; i++) {
    const path = podFile(hostRoot, `p${i}`);
    writeFileSync(path, '');
    paths.push(path);
  }
  return paths;
}

/**
 * Appends `linesPerFile` CRI lines to every file: one round of a bench. `one`: one template, numbers varying;
 * `mix`: the seeded realistic mix of fixtures.ts (seven message shapes, one in seven an error, ~2 % split into
 * P + F pieces), so that a stream's window holds several templates as a real container's does.
 */
export function appendRound(
  paths: readonly string[],
  linesPerFile: number,
  round: number,
  content: 'one' | 'mix' = 'one',
): void {
  const ts = new Date().toISOString().replace('Z', '000000Z');
  paths.forEach((path, f) => {
    if (content === 'mix') {
      appendFileSync(path, criLines(linesPerFile, round * 1_000_003 + f + 1, Date.now()));
      return;
    }
    let text = '';
    for (let i = 0; i < linesPerFile; i++)
      text += `${ts} stdout F GET /api/items/${round} 200 ${f} line ${i}\n`;
    appendFileSync(path, text);
  });
}

/** The pipeline on `hostRoot` with the bench defaults; `extra` overrides them. */
export function openBenchPipeline(
  Pipeline: typeof LogPipeline,
  root: LogPipelineOptions['root'],
  hostRoot: string,
  logger: Logger,
  extra: Partial<LogPipelineOptions> = {},
): Promise<LogPipeline> {
  return Pipeline.open({
    root,
    hostRoot,
    node: 'bench',
    logger,
    emit: () => {},
    warmupWindows: 30,
    ...extra,
  });
}

/**
 * Writes one bench's section of bench/results/logs.json beside main.ts's (the other sections keep their last
 * run), with when it ran and the load average at its start (`load0`) and now.
 */
export function saveLogsSection(name: string, load0: number, section: Record<string, unknown>): void {
  const path = 'bench/results/logs.json';
  const results = JSON.parse(readFileSync(path, 'utf8')) as Record<string, unknown>;
  results[name] = {
    date: new Date().toISOString(),
    ...section,
    loadAverage: [Number(load0.toFixed(1)), Number((loadavg()[0] ?? 0).toFixed(1))],
  };
  writeFileSync(path, `${JSON.stringify(results, null, 2)}\n`);
}

/** CPU seconds per thread over a measured part: the whole process, the main thread, the mining workers. */
export interface CpuSplit {
  process: number;
  main: number;
  mining: number;
  /** process − main − mining: V8's GC and compiler threads, libuv. */
  other: number;
}

/** Starts measuring the pipeline's CPU by thread; the returned function gives the split since then. */
export async function startCpuSplit(pipeline: LogPipeline): Promise<() => Promise<CpuSplit>> {
  const seconds = (u: NodeJS.CpuUsage) => (u.user + u.system) / 1e6;
  const miningSeconds = async () => (await pipeline.miningCpuSeconds()).reduce((a, b) => a + b, 0);
  const process0 = process.cpuUsage();
  const main0 = process.threadCpuUsage();
  const mining0 = await miningSeconds();
  return async () => {
    const total = seconds(process.cpuUsage(process0));
    const main = seconds(process.threadCpuUsage(main0));
    const mining = (await miningSeconds()) - mining0;
    return { process: total, main, mining, other: total - main - mining };
  };
}

/** `files` empty pod files in a new temporary directory, and the pipeline on them with its own LMDB, started. */
export async function startBenchPipeline(
  Pipeline: typeof LogPipeline,
  files: number,
  logger: Logger,
): Promise<{
  paths: string[];
  store: ReturnType<typeof openLmdb>;
  pipeline: LogPipeline;
  dispose(): Promise<void>;
}> {
  const work = mkdtempSync(join(tmpdir(), 'vigil-bench-'));
  const paths = emptyPodFiles(join(work, 'host'), files);
  const store = openLmdb(join(work, 'agent.mdb'), logger);
  const pipeline = await openBenchPipeline(Pipeline, store.root, join(work, 'host'), logger);
  pipeline.start();
  const dispose = async () => {
    await pipeline.stop();
    await store.root.close();
    rmSync(work, { recursive: true, force: true });
  };
  return { paths, store, pipeline, dispose };
}
