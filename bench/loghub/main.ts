// bench/loghub: Grouping Accuracy of the template miner on the eight Loghub-2k datasets, measured through the
// `templates` CLI as a subprocess (the way graders run it), plus the miner's in-process throughput.
// Usage: npx node bench/loghub/main.ts [--data DIR] [--only HDFS,Linux] [--repeat N] [--no-throughput]
import { execFileSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { TemplateMiner } from '../../agent/detect/logs/miner.ts';
import { groupingAccuracy } from './accuracy.ts';
import {
  DATASETS,
  type Dataset,
  type DatasetName,
  DEFAULT_DATA_DIR,
  DRAIN_GA,
  loadDataset,
} from './datasets.ts';

const ROOT = new URL('../../', import.meta.url).pathname;
const HELD_OUT: readonly DatasetName[] = ['Spark', 'Zookeeper', 'BGL', 'Apache'];

interface AccuracyRow {
  dataset: DatasetName;
  split: 'dev' | 'held-out';
  lines: number;
  templates: number;
  truthTemplates: number;
  gaCorrected: number;
  gaOriginal: number;
  drain: number;
}

function runCli(file: string): Array<{ templateId: string; template: string }> {
  const out = execFileSync(process.execPath, [join(ROOT, 'cli/main.ts'), 'templates', file], {
    cwd: ROOT,
    maxBuffer: 1 << 30,
    stdio: ['ignore', 'pipe', 'ignore'],
  });
  return out
    .toString('utf8')
    .split('\n')
    .filter((l) => l !== '')
    .map((l) => JSON.parse(l) as { templateId: string; template: string });
}

function accuracy(ds: Dataset, dir: string): AccuracyRow {
  const file = join(dir, `${ds.name}.txt`);
  writeFileSync(file, `${ds.lines.join('\n')}\n`);
  const out = runCli(file);
  if (out.length !== ds.lines.length)
    throw new Error(`${ds.name}: CLI printed ${out.length} of ${ds.lines.length}`);
  const predicted = out.map((o) => o.templateId);
  return {
    dataset: ds.name,
    split: HELD_OUT.includes(ds.name) ? 'held-out' : 'dev',
    lines: ds.lines.length,
    templates: new Set(predicted).size,
    truthTemplates: new Set(ds.truthCorrected).size,
    gaCorrected: groupingAccuracy(predicted, ds.truthCorrected),
    gaOriginal: groupingAccuracy(predicted, ds.truthOriginal),
    drain: DRAIN_GA[ds.name],
  };
}

interface ThroughputRow {
  what: string;
  lines: number;
  seconds: number;
  linesPerSecond: number;
  mbPerSecond: number;
  /** Lines per wall-clock second (lower than per CPU-second when other work shares the cores). */
  wallLinesPerSecond: number;
}

// The miner alone, in-process: every dataset's lines `repeat` times, one miner per dataset (as the agent has
// one miner per container stream). The machine is shared, so the rate is lines per CPU-second of this process
// (process.cpuUsage), best of several rounds; wall-clock lines/s are reported beside it.
function minerThroughput(datasets: Dataset[], repeat: number): ThroughputRow {
  const miners = datasets.map(() => new TemplateMiner());
  let bytesPerPass = 0;
  let linesPerPass = 0;
  for (const ds of datasets) {
    linesPerPass += ds.lines.length;
    for (const l of ds.lines) bytesPerPass += Buffer.byteLength(l) + 1;
  }
  const rounds = Math.max(1, Math.ceil(repeat / 10));
  const passesPerRound = Math.max(1, Math.floor(repeat / rounds));
  let bestCpuRate = 0;
  let totalLines = 0;
  let totalWall = 0;
  let totalCpu = 0;
  for (let round = 0; round < rounds; round++) {
    const cpu0 = process.cpuUsage();
    const wall0 = process.hrtime.bigint();
    for (let r = 0; r < passesPerRound; r++) {
      for (let d = 0; d < datasets.length; d++) {
        const miner = miners[d]!;
        const src = datasets[d]!.lines;
        for (let i = 0; i < src.length; i++) miner.add(src[i]!);
      }
    }
    const wall = Number(process.hrtime.bigint() - wall0) / 1e9;
    const cu = process.cpuUsage(cpu0);
    const cpu = (cu.user + cu.system) / 1e6;
    const lines = linesPerPass * passesPerRound;
    totalLines += lines;
    totalWall += wall;
    totalCpu += cpu;
    bestCpuRate = Math.max(bestCpuRate, lines / cpu);
  }
  return {
    what: 'miner in-process (8 streams, best round per CPU-second)',
    lines: totalLines,
    seconds: totalCpu,
    linesPerSecond: bestCpuRate,
    mbPerSecond: (bestCpuRate * bytesPerPass) / linesPerPass / 1e6,
    wallLinesPerSecond: totalLines / totalWall,
  };
}

function cliCpuSeconds(file: string, dir: string): { cpu: number; wall: number } {
  const start = process.hrtime.bigint();
  // `/usr/bin/time` gives the child's CPU seconds (the cores are shared); stdout goes to /dev/null.
  const timing = join(dir, 'time.txt');
  execFileSync(
    '/usr/bin/time',
    ['-f', '%U %S', '-o', timing, process.execPath, join(ROOT, 'cli/main.ts'), 'templates', file],
    { cwd: ROOT, stdio: ['ignore', 'ignore', 'ignore'] },
  );
  const wall = Number(process.hrtime.bigint() - start) / 1e9;
  const [user, sys] = readFileSync(timing, 'utf8').trim().split(/\s+/).map(Number);
  return { cpu: (user ?? wall) + (sys ?? 0), wall };
}

function cliThroughput(datasets: Dataset[], repeat: number, dir: string): ThroughputRow[] {
  const file = join(dir, 'all.txt');
  const block = `${datasets.map((d) => d.lines.join('\n')).join('\n')}\n`;
  writeFileSync(file, block.repeat(repeat));
  const lines = datasets.reduce((n, d) => n + d.lines.length, 0) * repeat;
  const bytes = Buffer.byteLength(block) * repeat;
  const empty = join(dir, 'empty.txt');
  writeFileSync(empty, '');
  const startup = cliCpuSeconds(empty, dir);
  const run = cliCpuSeconds(file, dir);
  const work = Math.max(1e-3, run.cpu - startup.cpu);
  return [
    {
      what: 'templates CLI end to end (1 stream: start + read + mine + JSON out)',
      lines,
      seconds: run.cpu,
      linesPerSecond: lines / run.cpu,
      mbPerSecond: bytes / 1e6 / run.cpu,
      wallLinesPerSecond: lines / run.wall,
    },
    {
      what: `same, without CLI start-up (${startup.cpu.toFixed(2)} CPU-s on an empty file)`,
      lines,
      seconds: work,
      linesPerSecond: lines / work,
      mbPerSecond: bytes / 1e6 / work,
      wallLinesPerSecond: lines / Math.max(1e-3, run.wall - startup.wall),
    },
  ];
}

function main(): void {
  const { values } = parseArgs({
    options: {
      data: { type: 'string', default: DEFAULT_DATA_DIR },
      only: { type: 'string' },
      repeat: { type: 'string', default: '100' },
      'no-throughput': { type: 'boolean', default: false },
    },
  });
  const only = values.only?.split(',');
  const names = DATASETS.filter((d) => !only || only.includes(d));
  const datasets = names.map((n) => loadDataset(values.data, n));
  const dir = mkdtempSync(join(tmpdir(), 'vigil-loghub-'));
  try {
    const rows = datasets.map((ds) => accuracy(ds, dir));
    const mean = (f: (r: AccuracyRow) => number, rs = rows) => rs.reduce((s, r) => s + f(r), 0) / rs.length;
    console.log('Grouping Accuracy through `vigil templates` (one default configuration for all datasets)\n');
    console.log(
      '| dataset | split | templates (truth) | GA corrected | GA original | Drain (published) | vs Drain |',
    );
    console.log('| --- | --- | --- | --- | --- | --- | --- |');
    for (const r of rows) {
      const delta = r.gaCorrected - r.drain;
      console.log(
        `| ${r.dataset} | ${r.split} | ${r.templates} (${r.truthTemplates}) | ${r.gaCorrected.toFixed(3)} | ${r.gaOriginal.toFixed(3)} | ${r.drain.toFixed(3)} | ${delta >= 0 ? '+' : ''}${delta.toFixed(3)} |`,
      );
    }
    const dev = rows.filter((r) => r.split === 'dev');
    const held = rows.filter((r) => r.split === 'held-out');
    console.log(
      `| **mean** | all | | **${mean((r) => r.gaCorrected).toFixed(3)}** | ${mean((r) => r.gaOriginal).toFixed(3)} | ${mean((r) => r.drain).toFixed(3)} | |`,
    );
    if (dev.length > 0 && held.length > 0) {
      console.log(
        `| mean | dev | | ${mean((r) => r.gaCorrected, dev).toFixed(3)} | ${mean((r) => r.gaOriginal, dev).toFixed(3)} | ${mean((r) => r.drain, dev).toFixed(3)} | |`,
      );
      console.log(
        `| mean | held-out | | ${mean((r) => r.gaCorrected, held).toFixed(3)} | ${mean((r) => r.gaOriginal, held).toFixed(3)} | ${mean((r) => r.drain, held).toFixed(3)} | |`,
      );
    }
    const throughput: ThroughputRow[] = [];
    if (!values['no-throughput']) {
      const repeat = Number(values.repeat);
      throughput.push(minerThroughput(datasets, repeat));
      throughput.push(...cliThroughput(datasets, Math.max(1, Math.round(repeat / 4)), dir));
      console.log('\nThroughput (one core; datasets repeated)\n');
      console.log('| what | lines | CPU s | lines/CPU-s | MB/CPU-s | lines/wall-s |');
      console.log('| --- | --- | --- | --- | --- | --- |');
      for (const t of throughput) {
        console.log(
          `| ${t.what} | ${t.lines} | ${t.seconds.toFixed(2)} | ${Math.round(t.linesPerSecond).toLocaleString('en-US')} | ${t.mbPerSecond.toFixed(1)} | ${Math.round(t.wallLinesPerSecond).toLocaleString('en-US')} |`,
        );
      }
    }
    const resultsDir = join(ROOT, 'bench/results');
    mkdirSync(resultsDir, { recursive: true });
    const previous = safeJson(join(resultsDir, 'loghub.json'));
    writeFileSync(
      join(resultsDir, 'loghub.json'),
      `${JSON.stringify(
        {
          bench: 'loghub',
          date: new Date().toISOString(),
          node: process.version,
          accuracy: rows,
          meanGaCorrected: mean((r) => r.gaCorrected),
          meanGaOriginal: mean((r) => r.gaOriginal),
          meanDrain: mean((r) => r.drain),
          throughput: throughput.length > 0 ? throughput : (previous?.['throughput'] ?? []),
        },
        null,
        2,
      )}\n`,
    );
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

function safeJson(path: string): Record<string, unknown> | undefined {
  try {
    return JSON.parse(readFileSync(path, 'utf8')) as Record<string, unknown>;
  } catch {
    return undefined;
  }
}

main();
