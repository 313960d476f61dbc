// Log tailing benchmark: (1) one big CRI file on disk → tail → parse → consumer, on one core, with
// `wc -l` on the same file as the physical reference; (2) many files written at a steady rate by another
// process: the tailer's CPU and RSS with directory watches and with polling (before/after), to show CPU is
// flat in the number of files; (3) the same through the agent's whole LogPipeline (tail + mine + windows),
// optionally against another checkout (`--before <root>`). Usage:
//   npx node bench/logs/main.ts [--only throughput|files|agent] [--lines N] [--seconds S]
//                               [--consumer count|text] [--before <checkout root>] [--after <root>]
import { spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { cpus, loadavg } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import type { AgentRow } from './agent-scenario.ts';
import {
  type ConsumerFactory,
  consumers,
  type FilesRow,
  manyFiles,
  type TailerClass,
  throughput,
} from './scenarios.ts';

const root = resolve(dirname(fileURLToPath(import.meta.url)), '../..');
const { values: args } = parseArgs({
  options: {
    only: { type: 'string', default: '' },
    lines: { type: 'string', default: '2000000' },
    'poll-bytes': { type: 'string', default: String(512 * 1024) },
    seconds: { type: 'string', default: '15' },
    consumer: { type: 'string', default: 'count' },
    // A checkout of the code before a change (agent rows run against it too), e.g. a `git archive` export.
    before: { type: 'string', default: '' },
    // The code after it (default: this checkout, including uncommitted work of anyone).
    after: { type: 'string', default: '' },
    // Internal: one many-files scenario in a fresh process (so its RSS is its own), JSON to stdout, with the
    // tailer of the checkout at --scenario-src (labelled --scenario-label).
    scenario: { type: 'string', default: '' },
    'scenario-src': { type: 'string', default: '' },
    'scenario-label': { type: 'string', default: 'this checkout' },
  },
});

/** Runs `manyFiles` in a child process so each scenario's peak RSS is its own; `src`: a checkout root. */
function manyFilesIsolated(
  files: number,
  rate: number,
  seconds: number,
  cap: number,
  mode: 'watch' | 'poll',
  src = root,
  label = 'this checkout',
): FilesRow {
  const r = spawnSync(
    process.execPath,
    [
      import.meta.filename,
      '--scenario',
      `${files},${rate},${seconds},${cap},${mode}`,
      '--scenario-src',
      src,
      '--scenario-label',
      label,
    ],
    {
      encoding: 'utf8',
      stdio: ['ignore', 'pipe', 'inherit'],
      maxBuffer: 1 << 20,
    },
  );
  return JSON.parse(r.stdout) as FilesRow;
}

if (args.scenario !== '') {
  const [files, rate, seconds, cap, mode] = args.scenario.split(',') as [
    string,
    string,
    string,
    string,
    string,
  ];
  const src = args['scenario-src'] === '' ? root : resolve(args['scenario-src']);
  const { LogTailer } = (await import(join(src, 'agent/sources/logs/tailer.ts'))) as {
    LogTailer: TailerClass;
  };
  const row = await manyFiles(
    Number(files),
    Number(rate),
    Number(seconds),
    Number(cap),
    mode === 'poll' ? 'poll' : 'watch',
    LogTailer,
    args['scenario-label'],
  );
  process.stdout.write(`${JSON.stringify(row)}\n`);
  process.exit(0);
}

const f1 = (n: number) => n.toFixed(1);
// The machine is shared: CPU seconds (not wall time) are the per-core figures; the load is recorded.
const results: Record<string, unknown> = {
  node: process.version,
  date: new Date().toISOString(),
  cpu: cpus()[0]?.model ?? 'unknown',
  cores: cpus().length,
  loadAvgAtStart: loadavg(),
};
console.log(
  `node ${process.version}, ${cpus().length} × ${cpus()[0]?.model}, load average ${loadavg()
    .map((l) => l.toFixed(1))
    .join(' ')}`,
);

if (args.only === '' || args.only === 'throughput') {
  const makeConsumer: ConsumerFactory = consumers[args.consumer as 'count'] ?? consumers.count;
  const rows = await throughput(Number(args.lines), makeConsumer, Number(args['poll-bytes']));
  results.throughput = { consumer: args.consumer, rows };
  console.log(`\n## Tail + parse throughput (${args.lines} CRI lines, consumer=${args.consumer}, 3 runs)\n`);
  console.log(
    '| run | lines | MB | wall s | CPU s | lines/s (wall) | **lines/CPU-s** | MB/CPU-s | RSS before → peak MB | wc -l CPU s | wc -l lines/CPU-s | wc -l MB/CPU-s |',
  );
  console.log('|---|---|---|---|---|---|---|---|---|---|---|---|');
  for (const r of rows) {
    console.log(
      `| ${r.run} | ${r.lines} | ${f1(r.mb)} | ${r.wallS.toFixed(2)} | ${r.cpuS.toFixed(2)} | ${Math.round(r.linesPerSec)} | **${Math.round(r.linesPerCpuSec)}** | ${f1(r.mb / r.cpuS)} | ${f1(r.rssBaseMb)} → ${f1(r.rssMb)} | ${r.wcCpuS.toFixed(3)} | ${Math.round(r.wcLinesPerCpuSec)} | ${f1(r.wcMbPerCpuSec)} |`,
    );
  }
}

if (args.only === '' || args.only === 'files') {
  const s = Number(args.seconds);
  const rows: FilesRow[] = [];
  if (args.before !== '') {
    // Tailer before/after a change (both in `watch` mode), interleaved so both see the same machine load.
    const after: [string, string] =
      args.after === '' ? [root, 'this checkout'] : [resolve(args.after), 'after'];
    for (const [files, rate, cap] of [
      [100, 100, 1024],
      [1000, 10, 1024],
      [1000, 0, 1024],
    ] as const) {
      rows.push(manyFilesIsolated(files, rate, s, cap, 'watch', resolve(args.before), 'before'));
      rows.push(manyFilesIsolated(files, rate, s, cap, 'watch', ...after));
    }
  } else {
    // Interleaved so both modes see the same machine load.
    for (const [files, rate, cap] of [
      [100, 100, 1024],
      [1000, 10, 1024],
      [1000, 10, 256],
      // No writes at all: the fixed cost of watching files.
      [100, 0, 1024],
      [1000, 0, 1024],
    ] as const) {
      for (const mode of ['poll', 'watch'] as const) rows.push(manyFilesIsolated(files, rate, s, cap, mode));
    }
  }
  results.files = rows;
  console.log(
    '\n## Many files at the same total rate (writer in another process; tailer polls every 200 ms)\n',
  );
  console.log(
    '| code | change detection | files | lines/s per file | total lines/s | maxOpenFiles | s | written | read | tailer CPU % | CPU µs/line | reads/s | peak RSS MB |',
  );
  console.log('|---|---|---|---|---|---|---|---|---|---|---|---|---|');
  for (const r of rows) {
    const reads = r.readsPerSecond === null ? '—' : Math.round(r.readsPerSecond);
    console.log(
      `| ${r.source} | ${r.changeDetection} | ${r.files} | ${r.perFileRate} | ${r.totalRate} | ${r.maxOpenFiles} | ${f1(r.seconds)} | ${r.written} | ${r.read} | ${f1(r.cpuPercent)} | ${r.cpuUsPerLine.toFixed(2)} | ${reads} | ${f1(r.rssMb)} |`,
    );
  }
}

/** One agent-level scenario (agent-scenario.ts) in its own process, against `src` (a checkout root). */
function agentIsolated(files: number, rate: number, seconds: number, src: string, label: string): AgentRow {
  const r = spawnSync(
    process.execPath,
    [
      join(import.meta.dirname, 'agent-scenario.ts'),
      '--files',
      String(files),
      '--rate',
      String(rate),
      '--seconds',
      String(seconds),
      '--src',
      src,
      '--label',
      label,
    ],
    { encoding: 'utf8', stdio: ['ignore', 'pipe', 'inherit'], maxBuffer: 1 << 20 },
  );
  return JSON.parse(r.stdout) as AgentRow;
}

if (args.only === '' || args.only === 'agent') {
  const s = Number(args.seconds);
  const sources: Array<[string, string]> = [
    args.after === '' ? [root, 'this checkout'] : [resolve(args.after), 'after'],
  ];
  if (args.before !== '') sources.unshift([resolve(args.before), 'before']);
  const rows: AgentRow[] = [];
  for (const [files, rate] of [
    [0, 0],
    [100, 100],
    [1000, 10],
    [100, 0],
    [1000, 0],
  ] as const) {
    for (const [src, label] of sources) rows.push(agentIsolated(files, rate, s, src, label));
  }
  results.agent = rows;
  console.log(
    '\n## The agent: LogPipeline (tail + mine + windows + outbox), same total rate, writer in another process\n',
  );
  console.log(
    '| code | files | lines/s per file | total lines/s | s | written | read | agent CPU % | CPU µs/line | peak RSS MB |',
  );
  console.log('|---|---|---|---|---|---|---|---|---|---|');
  for (const r of rows) {
    console.log(
      `| ${r.source} | ${r.files} | ${r.perFileRate} | ${r.totalRate} | ${f1(r.seconds)} | ${r.written} | ${r.read} | ${f1(r.cpuPercent)} | ${r.cpuUsPerLine.toFixed(2)} | ${f1(r.rssMb)} |`,
    );
  }
}

results.loadAvgAtEnd = loadavg();
// Sections not run this time keep their previous figures (each section records when and under what load).
const resultsPath = join(root, 'bench/results/logs.json');
const previous = existsSync(resultsPath)
  ? (JSON.parse(readFileSync(resultsPath, 'utf8')) as Record<string, unknown>)
  : {};
const runs = (previous.runs ?? {}) as Record<string, unknown>;
const run = {
  date: results.date,
  node: results.node,
  loadAvgAtStart: results.loadAvgAtStart,
  loadAvgAtEnd: results.loadAvgAtEnd,
};
for (const section of ['throughput', 'files', 'agent']) if (section in results) runs[section] = run;
mkdirSync(join(root, 'bench/results'), { recursive: true });
writeFileSync(resultsPath, `${JSON.stringify({ ...previous, ...results, runs }, null, 2)}\n`);
