// One agent-level many-files scenario, in its own process so its CPU and peak RSS are its own: the agent's
// real LogPipeline (tail → parse → mine in the worker pool → per-stream windows → outbox append with the
// checkpoint in the same LMDB transaction, a window every 10 s as the agent does) over N container log files
// appended at a fixed per-file rate by writer-child.ts (another process). Prints one JSON row to stdout.
//   npx node bench/logs/agent-scenario.ts --files 1000 --rate 10 --seconds 20 [--src <checkout root>]
// `--src` runs another checkout's agent code (e.g. `git archive` of an older commit, with node_modules
// linked) for before/after figures on the same machine in the same hour.
import { mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { parseArgs } from 'node:util';
import { create, toBinary } from '@bufbuild/protobuf';
import { pino } from 'pino';
import type { Outbox as OutboxType } from '../../agent/buffer/outbox.ts';
import type { LogPipeline as LogPipelineType } from '../../agent/pipeline/log-pipeline.ts';
import type { openLmdb as openLmdbType } from '../../common/store/lmdb.ts';
import { SummarySchema } from '../../proto/gen/vigil/v1/summary_pb.js';
import { emptyPodFiles, openBenchPipeline } from './bench-pipeline.ts';
import { startWriter } from './writer.ts';

export interface AgentRow {
  source: string;
  files: number;
  perFileRate: number;
  totalRate: number;
  /** Measured span (after a warm-up), seconds. */
  seconds: number;
  written: number;
  read: number;
  cpuPercent: number;
  cpuUsPerLine: number;
  rssMb: number;
  windows: number;
  /** The tailer's change-detection counters over the whole run (absent in code without them). */
  tailer: Record<string, number>;
}

const WINDOW_MS = 10_000;
const WARMUP_MS = 3000;

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

async function main(): Promise<void> {
  const { values } = parseArgs({
    options: {
      files: { type: 'string', default: '100' },
      rate: { type: 'string', default: '10' },
      seconds: { type: 'string', default: '20' },
      src: { type: 'string', default: resolve(import.meta.dirname, '../..') },
      label: { type: 'string', default: 'this checkout' },
    },
  });
  const files = Number(values.files);
  const rate = Number(values.rate);
  const seconds = Number(values.seconds);
  const src = resolve(values.src);
  const { LogPipeline } = (await import(join(src, 'agent/pipeline/log-pipeline.ts'))) as {
    LogPipeline: typeof LogPipelineType;
  };
  const { Outbox } = (await import(join(src, 'agent/buffer/outbox.ts'))) as { Outbox: typeof OutboxType };
  const { openLmdb } = (await import(join(src, 'common/store/lmdb.ts'))) as { openLmdb: typeof openLmdbType };

  const work = mkdtempSync(join(tmpdir(), 'vigil-bench-agent-'));
  const hostRoot = join(work, 'host');
  const paths = emptyPodFiles(hostRoot, files);
  mkdirSync(join(hostRoot, 'var/log/pods'), { recursive: true });
  const logger = pino({ level: 'silent' });
  const store = openLmdb(join(work, 'agent.mdb'), logger);
  const outbox: OutboxType = new Outbox(store.root, { maxBytes: 1 << 30 });
  const pipeline: LogPipelineType = await openBenchPipeline(LogPipeline, store.root, hostRoot, logger, {
    warmupWindows: 3,
  });
  pipeline.start();

  let read = 0;
  let windows = 0;
  const closeWindow = async () => {
    const w = await pipeline.closeWindow();
    windows++;
    for (const l of w.logs) read += Number(l.lines);
    await outbox.append(
      () => toBinary(SummarySchema, create(SummarySchema, { node: 'bench', logs: w.logs })),
      {
        alsoWrite: w.alsoWrite,
      },
    );
  };
  let chain = Promise.resolve();
  const windowTimer = setInterval(() => {
    chain = chain.then(closeWindow);
  }, WINDOW_MS);

  // The writer runs for warm-up + measured span; only the measured span counts for CPU and RSS.
  const writer = files > 0 && rate > 0 ? startWriter(paths, rate, seconds + WARMUP_MS / 1000) : undefined;
  await sleep(WARMUP_MS);
  let rss = 0;
  const cpu0 = process.cpuUsage();
  const t0 = Date.now();
  while (Date.now() - t0 < seconds * 1000) {
    rss = Math.max(rss, process.memoryUsage.rss());
    await sleep(250);
  }
  const cpu = process.cpuUsage(cpu0);
  const wallMs = Date.now() - t0;
  await writer?.exited;
  const written = writer?.written() ?? 0;
  // Drain: windows until every written line is accounted for (or a deadline).
  clearInterval(windowTimer);
  await chain;
  for (let i = 0; i < 20 && read < written; i++) {
    await sleep(500);
    await closeWindow();
  }
  const stats = pipeline.stats() as unknown as Record<string, number>;
  const tailer: Record<string, number> = {};
  for (const k of [
    'fileReads',
    'discoveries',
    'listingsSkipped',
    'sweeps',
    'watchEvents',
    'watchesToPolling',
    'missedChanges',
    'dirsWatched',
  ])
    if (typeof stats[k] === 'number') tailer[k] = stats[k];
  await pipeline.stop();
  await store.root.close();
  rmSync(work, { recursive: true, force: true });
  const cpuUs = cpu.user + cpu.system;
  // Lines in the measured span: the rate times its length (the writer is paced); read-back checks the total.
  const measuredLines = files * rate * (wallMs / 1000);
  const row: AgentRow = {
    source: values.label,
    files,
    perFileRate: rate,
    totalRate: files * rate,
    seconds: wallMs / 1000,
    written,
    read,
    cpuPercent: (cpuUs / 1000 / wallMs) * 100,
    cpuUsPerLine: measuredLines > 0 ? cpuUs / measuredLines : 0,
    rssMb: rss / 1e6,
    windows,
    tailer,
  };
  process.stdout.write(`${JSON.stringify(row)}\n`);
  process.exit(0);
}

await main();
