// bench/log-pipeline: the agent's whole log path on one CRI file — tail → parse → mine (worker pool) →
// window summaries → outbox append with the checkpoint in the same LMDB transaction — measured in lines per
// CPU-second of the whole process (main thread and mining worker together), beside `wc -l` on the same file.
// Usage: npx node bench/log-pipeline/main.ts [--lines 1000000] [--cpu N]
import { execFileSync, spawnSync } from 'node:child_process';
import {
  closeSync,
  mkdirSync,
  mkdtempSync,
  openSync,
  readFileSync,
  rmSync,
  statSync,
  writeFileSync,
  writeSync,
} from 'node:fs';
import { availableParallelism, loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { create, toBinary } from '@bufbuild/protobuf';
import { pino } from 'pino';
import { Outbox } from '../../agent/buffer/outbox.ts';
import { LogPipeline } from '../../agent/pipeline/log-pipeline.ts';
import { SummaryDictionary } from '../../agent/summarize/summary-dictionary.ts';
import { openLmdb } from '../../common/store/lmdb.ts';
import { SummarySchema } from '../../proto/gen/vigil/v1/summary_pb.js';
import { openBenchPipeline } from '../logs/bench-pipeline.ts';

const { values } = parseArgs({
  options: { lines: { type: 'string', default: '1000000' }, cpu: { type: 'string' } },
});
// `--cpu N`: the whole process (main thread, mining thread, V8's and libuv's helpers) on core N alone, so that
// "lines per second on one core" is literal (lines per wall second then equal lines per CPU-second, give or take
// waiting). Re-runs itself under taskset (util-linux).
if (values.cpu !== undefined && process.env.VIGIL_BENCH_PINNED === undefined) {
  const run = spawnSync(
    'taskset',
    [
      '-c',
      values.cpu,
      process.execPath,
      ...process.execArgv,
      fileURLToPath(import.meta.url),
      ...process.argv.slice(2),
    ],
    { stdio: 'inherit', env: { ...process.env, VIGIL_BENCH_PINNED: values.cpu } },
  );
  process.exit(run.status ?? 1);
}
const total = Number(values.lines);
const logger = pino({ level: 'silent' });
const work = mkdtempSync(join(tmpdir(), 'vigil-logpipe-'));
const dir = join(work, 'host/var/log/pods/shop_api-1_0f0e0d0c-0000-4000-8000-000000000001/api');
mkdirSync(dir, { recursive: true });

// A realistic mix: the Loghub messages of eight systems, repeated, as one container's CRI log.
const messages: string[] = [];
for (const ds of ['HDFS', 'Hadoop', 'Spark', 'Zookeeper', 'BGL', 'OpenSSH', 'Apache', 'Linux']) {
  const text = readFileSync(`../shared/data/loghub2k/${ds}/${ds}_2k.log`, 'utf8');
  messages.push(...text.split('\n').filter(Boolean));
}
const file = join(dir, '0.log');
// Written in chunks, so the bench itself holds no copy of the file while it measures (RSS is the agent's).
const fd = openSync(file, 'w');
const chunk: string[] = [];
for (let i = 0; i < total; i++) {
  chunk.push(
    `2026-01-01T00:00:00.${String(i % 1e9).padStart(9, '0')}Z stdout F ${messages[i % messages.length]}`,
  );
  if (chunk.length === 10_000 || i === total - 1) {
    writeSync(fd, `${chunk.join('\n')}\n`);
    chunk.length = 0;
  }
}
closeSync(fd);
const bytes = statSync(file).size;
const wcStart = process.hrtime.bigint();
execFileSync('wc', ['-l', file]);
const wcSeconds = Number(process.hrtime.bigint() - wcStart) / 1e9;

const store = openLmdb(join(work, 'agent.mdb'), logger);
const outbox = new Outbox(store.root, { maxBytes: 1 << 30 });
let lines = 0;
const dictionary = new SummaryDictionary({ epoch: 1, nextEpoch: () => 2 });
const pipeline = await openBenchPipeline(LogPipeline, store.root, join(work, 'host'), logger, {
  pollIntervalMs: 1,
});
const load0 = loadavg()[0] ?? 0;
const cpu0 = process.cpuUsage();
const main0 = process.threadCpuUsage();
const mining0 = (await pipeline.miningCpuSeconds()).reduce((a, b) => a + b, 0);
const t0 = process.hrtime.bigint();
pipeline.start();
let wire = 0;
// CPU at the first window past half the lines: the second half is the steady state (JIT compiled, templates
// known), the figure that matters for an agent that runs for days.
let half: { lines: number; cpu: NodeJS.CpuUsage } | undefined;
while (lines < total) {
  await new Promise((r) => setTimeout(r, 500)); // a window every half second of wall time
  const w = await pipeline.closeWindow();
  for (const l of w.logs) lines += Number(l.lines);
  await outbox.append(
    () => {
      // Encoded as the agent does (summary dictionary; texts and exemplars only while the aggregator lacks
      // them), with every earlier batch acked: an aggregator that keeps up.
      const seq = outbox.nextSeq;
      const packed = dictionary.pack([], w.logs, { seq, ackedSeq: seq - 1, lastDroppedSeq: 0 });
      const bytes = toBinary(SummarySchema, create(SummarySchema, { node: 'bench', ...packed }));
      wire += bytes.length;
      return bytes;
    },
    { alsoWrite: w.alsoWrite },
  );
  if (!half && lines >= total / 2 && lines < total) half = { lines, cpu: process.cpuUsage() };
}
const wall = Number(process.hrtime.bigint() - t0) / 1e9;
const cpu = process.cpuUsage(cpu0);
const mainCpu = process.threadCpuUsage(main0);
const miningCpu = (await pipeline.miningCpuSeconds()).reduce((a, b) => a + b, 0) - mining0;
const cpuSeconds = (cpu.user + cpu.system) / 1e6;
const steadyCpu = half ? process.cpuUsage(half.cpu) : undefined;
const steadyLines = half ? lines - half.lines : 0;
const rss = process.memoryUsage().rss / 2 ** 20;
await pipeline.stop();
await store.root.close();
rmSync(work, { recursive: true, force: true });

const result = {
  lines,
  bytes,
  cpuSeconds: Number(cpuSeconds.toFixed(2)),
  // Main thread (tail, parse, windows, outbox), the mining worker thread, the rest is V8's and libuv's helper
  // threads (GC, JIT compilation, file reads).
  mainThreadCpuSeconds: Number(((mainCpu.user + mainCpu.system) / 1e6).toFixed(2)),
  miningThreadCpuSeconds: Number(miningCpu.toFixed(2)),
  systemCpuSeconds: Number((cpu.system / 1e6).toFixed(2)),
  wallSeconds: Number(wall.toFixed(2)),
  linesPerCpuSecond: Math.round(lines / cpuSeconds),
  steadyLinesPerCpuSecond: steadyCpu
    ? Math.round(steadyLines / ((steadyCpu.user + steadyCpu.system) / 1e6))
    : undefined,
  // What the run cost beyond the steady per-line rate: start-up (V8 compiling the hot code on its background
  // threads, template discovery), paid once per process.
  startupCpuSeconds:
    steadyCpu && steadyLines > 0
      ? Number((cpuSeconds - (lines * (steadyCpu.user + steadyCpu.system)) / 1e6 / steadyLines).toFixed(2))
      : undefined,
  mbPerCpuSecond: Number((bytes / 2 ** 20 / cpuSeconds).toFixed(1)),
  linesPerWallSecond: Math.round(lines / wall),
  rssMiB: Math.round(rss),
  wireBytesPerRawByte: Number((wire / bytes).toExponential(2)),
  wcLinesPerSecond: Math.round(total / wcSeconds),
  loadAverage: [Number(load0.toFixed(1)), Number((loadavg()[0] ?? 0).toFixed(1))],
  /** Cores the process may run on (1 with `--cpu N`), and which. */
  cores: availableParallelism(),
  pinnedTo: process.env.VIGIL_BENCH_PINNED ?? null,
};
for (const [k, v] of Object.entries(result)) process.stdout.write(`${k.padEnd(22)} ${v}\n`);
mkdirSync('bench/results', { recursive: true });
writeFileSync(
  'bench/results/log-pipeline.json',
  `${JSON.stringify({ bench: 'log-pipeline', date: new Date().toISOString(), ...result }, null, 2)}\n`,
);
process.exit(0);
