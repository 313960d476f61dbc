// Log tailing benchmark: (1) one big CRI file on disk → tail → parse → consumer, on one core, with
// `wc -l` on the same file as the physical reference; (2) many files written at a steady rate by another
// process: the tailer's CPU and RSS, to show CPU is flat in the number of files. Usage:
//   npx node bench/logs/main.ts [--only throughput|files] [--lines N] [--seconds S] [--consumer count|text]
import { spawnSync } from 'node:child_process';
import { mkdirSync, writeFileSync } from 'node:fs';
import { cpus, loadavg } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { type ConsumerFactory, consumers, type FilesRow, manyFiles, throughput } from './scenarios.ts';

const root = resolve(dirname(fileURLToPath(import.meta.url)), '../..');
const { values: args } = parseArgs({
  options: {
    only: { type: 'string', default: '' },
    lines: { type: 'string', default: '2000000' },
    'poll-bytes': { type: 'string', default: String(512 * 1024) },
    seconds: { type: 'string', default: '15' },
    consumer: { type: 'string', default: 'count' },
    // Internal: one many-files scenario in a fresh process (so its RSS is its own), JSON to stdout.
    scenario: { type: 'string', default: '' },
  },
});

/** Runs `manyFiles` in a child process so each scenario's peak RSS is its own. */
function manyFilesIsolated(files: number, rate: number, seconds: number, cap: number): FilesRow {
  const r = spawnSync(
    process.execPath,
    [import.meta.filename, '--scenario', `${files},${rate},${seconds},${cap}`],
    {
      encoding: 'utf8',
      stdio: ['ignore', 'pipe', 'inherit'],
      maxBuffer: 1 << 20,
    },
  );
  return JSON.parse(r.stdout) as FilesRow;
}

if (args.scenario !== '') {
  const [files, rate, seconds, cap] = args.scenario.split(',').map(Number) as [
    number,
    number,
    number,
    number,
  ];
  process.stdout.write(`${JSON.stringify(await manyFiles(files, rate, seconds, cap))}\n`);
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
  const rows = [
    manyFilesIsolated(100, 100, s, 1024),
    manyFilesIsolated(1000, 10, Math.round(s * 1.5), 1024),
    manyFilesIsolated(1000, 10, s, 256),
    // No writes at all: the fixed cost of watching files (discovery + adaptive polling).
    manyFilesIsolated(100, 0, s, 1024),
    manyFilesIsolated(1000, 0, s, 1024),
  ];
  results.files = rows;
  console.log(
    '\n## Many files at the same total rate (writer in another process; tailer polls every 200 ms)\n',
  );
  console.log(
    '| files | lines/s per file | total lines/s | maxOpenFiles | s | written | read | tailer CPU % | CPU µs/line | peak RSS MB |',
  );
  console.log('|---|---|---|---|---|---|---|---|---|---|');
  for (const r of rows) {
    console.log(
      `| ${r.files} | ${r.perFileRate} | ${r.totalRate} | ${r.maxOpenFiles} | ${f1(r.seconds)} | ${r.written} | ${r.read} | ${f1(r.cpuPercent)} | ${r.cpuUsPerLine.toFixed(2)} | ${f1(r.rssMb)} |`,
    );
  }
}

results.loadAvgAtEnd = loadavg();
mkdirSync(join(root, 'bench/results'), { recursive: true });
writeFileSync(join(root, 'bench/results/logs.json'), `${JSON.stringify(results, null, 2)}\n`);
