// bench/logs steady state: the agent's LogPipeline (tail + mine + windows + LMDB commit) in this process over
// many files written by a child process, measured only after a long warm-up, so that V8 has compiled even the
// code that runs once per window (the 12 s agent rows of main.ts still include that compilation). Per-thread
// CPU: main thread, mining thread, and the rest (V8's GC and compiler threads, libuv).
// Usage: VIGIL_BENCH_WRITER_CPU=0 taskset -c 1 npx node bench/logs/steady.ts [--rows 1000x10,100x100]
//        [--warmup 60] [--seconds 30] [--profile DIR] [--no-save]   (DIR: a main-thread .cpuprofile of each row's
//        measured part; --no-save: print only, for rows run side by side by steady-together.sh)
import { loadavg } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { pino } from 'pino';
import { LogPipeline } from '../../agent/pipeline/log-pipeline.ts';
import { saveLogsSection, startBenchPipeline, startCpuSplit } from './bench-pipeline.ts';
import { startProfile, stopProfile } from './profile.ts';
import { startWriter } from './writer.ts';

const { values } = parseArgs({
  options: {
    rows: { type: 'string', default: '1000x10,100x100' },
    warmup: { type: 'string', default: '60' },
    seconds: { type: 'string', default: '30' },
    profile: { type: 'string' },
    // Leave bench/results/logs.json alone (rows run side by side by steady-together.sh).
    'no-save': { type: 'boolean', default: false },
  },
});
const warmup = Number(values.warmup);
const seconds = Number(values.seconds);
const logger = pino({ level: 'silent' });
const percent = (cpuSeconds: number) => Number(((cpuSeconds * 100) / seconds).toFixed(2));

interface SteadyRow {
  files: number;
  linesPerSecondPerFile: number;
  processCpuPercent: number;
  mainThreadCpuPercent: number;
  miningThreadCpuPercent: number;
  otherThreadsCpuPercent: number;
  fileReadsPerSecond: number;
  rssMiB: number;
}

async function measure(files: number, rate: number): Promise<SteadyRow> {
  const { paths, store, pipeline, dispose } = await startBenchPipeline(LogPipeline, files, logger);
  // Windows every 10 s as in the agent, each committed with its checkpoint.
  const windows = setInterval(() => {
    void pipeline.closeWindow().then((w) => store.root.transaction(() => w.alsoWrite()));
  }, 10_000);
  const writer = startWriter(paths, rate, warmup + seconds + 2);
  await new Promise((r) => setTimeout(r, warmup * 1000));
  const cpuSince = await startCpuSplit(pipeline);
  const reads0 = pipeline.stats().fileReads;
  const profiler = values.profile === undefined ? null : await startProfile();
  await new Promise((r) => setTimeout(r, seconds * 1000));
  if (profiler !== null)
    await stopProfile(profiler, join(values.profile!, `steady-${files}x${rate}.cpuprofile`));
  const cpu = await cpuSince();
  const reads = pipeline.stats().fileReads - reads0;
  const rss = process.memoryUsage().rss / 2 ** 20;
  clearInterval(windows);
  await writer.exited;
  await dispose();
  return {
    files,
    linesPerSecondPerFile: rate,
    processCpuPercent: percent(cpu.process),
    mainThreadCpuPercent: percent(cpu.main),
    miningThreadCpuPercent: percent(cpu.mining),
    otherThreadsCpuPercent: percent(cpu.other),
    fileReadsPerSecond: Math.round(reads / seconds),
    rssMiB: Math.round(rss),
  };
}

const load0 = loadavg()[0] ?? 0;
const rows: SteadyRow[] = [];
for (const spec of values.rows.split(',')) {
  const [files, rate] = spec.split('x').map(Number) as [number, number];
  rows.push(await measure(files, rate));
}
process.stdout.write(
  `\n## Agent log path in the steady state (${warmup} s warm-up, then ${seconds} s; % of one core)\n\n` +
    '| files × lines/s each | process % | main thread % | mining thread % | other threads % | file reads/s | RSS MiB |\n' +
    '| --- | ---: | ---: | ---: | ---: | ---: | ---: |\n',
);
for (const r of rows) {
  process.stdout.write(
    `| ${r.files} × ${r.linesPerSecondPerFile} | ${r.processCpuPercent} | ${r.mainThreadCpuPercent} | ${r.miningThreadCpuPercent} | ${r.otherThreadsCpuPercent} | ${r.fileReadsPerSecond} | ${r.rssMiB} |\n`,
  );
}
if (!values['no-save']) saveLogsSection('steady', load0, { warmupSeconds: warmup, seconds, rows });
process.exit(0);
