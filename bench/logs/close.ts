// bench/logs close: what one window close costs per stream, without the noise of a 90 s steady run. Each round
// appends one window's lines to every file, lets the pipeline's polls run for 400 ms, then closes the window
// (which reads them all: trickling files are read at the closes only) and commits it, and measures the CPU of
// the close per thread. Rounds come every ~0.5 s, so the files look busier than they would be at 10 s windows:
// keep the lines per file a window small enough to be parked (≤ 32 KiB) for a close-only measurement.
// Usage: taskset -c 1 npx node bench/logs/close.ts [--rows 1000x30,1000x3,100x30] [--rounds 30] [--content one|mix]
//        [--profile DIR]
//        (DIR: a main-thread .cpuprofile of each row's measured rounds, steady.ts's format)
import { loadavg } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { pino } from 'pino';
import { LogPipeline } from '../../agent/pipeline/log-pipeline.ts';
import {
  appendRound,
  type CpuSplit,
  saveLogsSection,
  startBenchPipeline,
  startCpuSplit,
} from './bench-pipeline.ts';
import { startProfile, stopProfile } from './profile.ts';

const { values } = parseArgs({
  options: {
    rows: { type: 'string', default: '1000x30,1000x3,100x30' },
    rounds: { type: 'string', default: '30' },
    profile: { type: 'string' },
    /** `one` template per file (the default, as in the figures below), or a realistic `mix` (bench-pipeline.ts). */
    content: { type: 'string', default: 'one' },
  },
});
if (values.content !== 'one' && values.content !== 'mix')
  throw new Error(`--content must be one or mix, not ${values.content}`);
const content = values.content;
const rounds = Number(values.rounds);
/** Rounds left out of the figures while V8 compiles the code that runs once per close. */
const WARMUP_ROUNDS = 10;
const logger = pino({ level: 'silent' });

interface CloseRow {
  files: number;
  linesPerFile: number;
  /** CPU per window close (read + close + commit), ms. */
  processMs: number;
  mainThreadMs: number;
  miningThreadMs: number;
  otherThreadsMs: number;
  /** Reads between the closes in the last round (0: every file was read by the close). */
  readsBetweenCloses: number;
}

async function measure(files: number, linesPerFile: number): Promise<CloseRow> {
  const { paths, store, pipeline, dispose } = await startBenchPipeline(LogPipeline, files, logger);
  const sum: CpuSplit = { process: 0, main: 0, mining: 0, other: 0 };
  let between = 0;
  let profiler: Awaited<ReturnType<typeof startProfile>> | null = null;
  for (let round = 0; round < rounds; round++) {
    if (round === WARMUP_ROUNDS && values.profile !== undefined) profiler = await startProfile();
    appendRound(paths, linesPerFile, round, content);
    const reads0 = pipeline.stats().fileReads;
    await new Promise((r) => setTimeout(r, 400));
    between = pipeline.stats().fileReads - reads0;
    const cpuSince = await startCpuSplit(pipeline);
    const w = await pipeline.closeWindow();
    store.root.transactionSync(() => w.alsoWrite());
    // The mining worker's last answers and the GC after the close.
    await new Promise((r) => setTimeout(r, 100));
    if (round < WARMUP_ROUNDS) continue;
    const cpu = await cpuSince();
    for (const k of ['process', 'main', 'mining', 'other'] as const) sum[k] += cpu[k];
  }
  if (profiler !== null)
    await stopProfile(profiler, join(values.profile!, `close-${files}x${linesPerFile}.cpuprofile`));
  await dispose();
  const ms = (seconds: number) => Number(((seconds * 1000) / (rounds - WARMUP_ROUNDS)).toFixed(1));
  return {
    files,
    linesPerFile,
    processMs: ms(sum.process),
    mainThreadMs: ms(sum.main),
    miningThreadMs: ms(sum.mining),
    otherThreadsMs: ms(sum.other),
    readsBetweenCloses: between,
  };
}

const load0 = loadavg()[0] ?? 0;
const rows: CloseRow[] = [];
for (const spec of values.rows.split(',')) {
  const [files, lines] = spec.split('x').map(Number) as [number, number];
  rows.push(await measure(files, lines));
}
process.stdout.write(
  `\n## One window close (${rounds - WARMUP_ROUNDS} rounds after ${WARMUP_ROUNDS}; lines: ${content}; CPU ms per close)\n\n` +
    '| files × lines each | process ms | main thread ms | mining thread ms | other threads ms | reads between closes |\n' +
    '| --- | ---: | ---: | ---: | ---: | ---: |\n',
);
for (const r of rows)
  process.stdout.write(
    `| ${r.files} × ${r.linesPerFile} | ${r.processMs} | ${r.mainThreadMs} | ${r.miningThreadMs} | ${r.otherThreadsMs} | ${r.readsBetweenCloses} |\n`,
  );
saveLogsSection('close', load0, { rounds: rounds - WARMUP_ROUNDS, content, rows });
process.exit(0);
