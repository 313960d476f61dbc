// bench/logs tailer-run: the CPU of one run of `LogTailer.pollAll` (what a window close reads), the tailer alone
// (no pipeline, no worker), over N files that each got K new lines. What a file costs at each close beyond its
// lines: its `pread`, its directory (when not settled), its bookkeeping. Same total lines per row pair, so the
// difference between the rows is the per-file cost.
// Usage: taskset -c 1 npx node bench/logs/tailer-run.ts [--rows 1000x10,100x100] [--rounds 25] [--repeat 3]
import { mkdtempSync, rmSync } from 'node:fs';
import { loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { LineBatchCollector } from '../../agent/sources/logs/line-batches.ts';
import { LogTailer } from '../../agent/sources/logs/tailer.ts';
import { appendRound, emptyPodFiles, saveLogsSection } from './bench-pipeline.ts';

const { values } = parseArgs({
  options: {
    rows: { type: 'string', default: '1000x10,100x100' },
    rounds: { type: 'string', default: '25' },
    repeat: { type: 'string', default: '3' },
  },
});
/** Runs left out while V8 compiles the code and the tailer learns the gap between runs (parking). */
const WARMUP_ROUNDS = 5;

interface RunRow {
  files: number;
  linesPerFile: number;
  /** Main-thread CPU of one run of pollAll, ms (median of the repeats). */
  runMs: number;
  /** Per repeat. */
  runsMs: number[];
}

async function measure(files: number, linesPerFile: number, rounds: number): Promise<number> {
  const work = mkdtempSync(join(tmpdir(), 'vigil-tailer-run-'));
  const paths = emptyPodFiles(join(work, 'host'), files);
  const lines = new LineBatchCollector();
  const tailer = new LogTailer({ hostRoot: join(work, 'host'), lineBatches: lines });
  await tailer.pollAll();
  let cpu = 0;
  for (let round = 0; round < rounds; round++) {
    appendRound(paths, linesPerFile, round);
    await new Promise((r) => setTimeout(r, 50));
    const c0 = process.threadCpuUsage();
    for (let more = true; more; ) {
      more = (await tailer.pollAll()).more;
      const batch = lines.take();
      if (batch !== undefined) lines.recycle(batch.bytes, batch.ends);
    }
    const c = process.threadCpuUsage(c0);
    if (round >= WARMUP_ROUNDS) cpu += c.user + c.system;
  }
  await tailer.close();
  rmSync(work, { recursive: true, force: true });
  return cpu / 1000 / (rounds - WARMUP_ROUNDS);
}

const load0 = loadavg()[0] ?? 0;
const specs = values.rows.split(',').map((s) => s.split('x').map(Number) as [number, number]);
const runs = new Map<string, number[]>();
// Rows interleaved, so that each sees the same minutes of a noisy machine.
for (let k = 0; k < Number(values.repeat); k++) {
  for (const [files, lines] of specs) {
    const ms = await measure(files, lines, Number(values.rounds));
    runs.set(`${files}x${lines}`, [...(runs.get(`${files}x${lines}`) ?? []), Number(ms.toFixed(2))]);
  }
}
const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)] as number;
const rows: RunRow[] = specs.map(([files, linesPerFile]) => {
  const runsMs = runs.get(`${files}x${linesPerFile}`) ?? [];
  return { files, linesPerFile, runMs: median(runsMs), runsMs };
});
process.stdout.write(
  '\n## One run of pollAll, the tailer alone (main-thread CPU ms per run)\n\n' +
    '| files × new lines each | ms per run (median) | runs |\n| --- | ---: | --- |\n',
);
for (const r of rows)
  process.stdout.write(`| ${r.files} × ${r.linesPerFile} | ${r.runMs} | ${r.runsMs.join(' / ')} |\n`);
saveLogsSection('tailerRun', load0, { rounds: Number(values.rounds) - WARMUP_ROUNDS, rows });
