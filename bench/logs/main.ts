// Log tailing benchmark: (1) one big CRI file on disk → tail → parse → consumer, on one core, with
// `wc -l` on the same file as the physical reference; (2) many files written at a steady rate by another
// process: the tailer's CPU and RSS, to show CPU is flat in the number of files. Usage:
//   npx node bench/logs/main.ts [--only throughput|files] [--lines N] [--seconds S] [--consumer count|text]
import { spawn, spawnSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { LogTailer } from '../../agent/sources/logs/tailer.ts';
import type { LogRecord } from '../../agent/sources/logs/types.ts';

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

/** What the tailer feeds. The integrator plugs the miner in here; `count` is the placeholder. */
export type Consumer = (records: LogRecord[]) => void;

type ConsumerFactory = () => { consume: Consumer; result: () => number };

const consumers: Record<'count' | 'text', ConsumerFactory> = {
  count: () => {
    let n = 0;
    return {
      consume: (rs) => {
        n += rs.length;
      },
      result: () => n,
    };
  },
  // Touches every message (as any real consumer must): total characters.
  text: () => {
    let n = 0;
    return {
      consume: (rs) => {
        for (const r of rs) n += r.text.length;
      },
      result: () => n,
    };
  },
};

function podFile(hostRoot: string, pod: string): string {
  const dir = join(hostRoot, 'var/log/pods', `bench_${pod}_${pod}-uid`, 'app');
  mkdirSync(dir, { recursive: true });
  return join(dir, '0.log');
}

interface ThroughputRow {
  run: number;
  lines: number;
  records: number;
  mb: number;
  wallS: number;
  cpuS: number;
  linesPerSec: number;
  linesPerCpuSec: number;
  mbPerSec: number;
  rssMb: number;
  rssBaseMb: number;
  wcCpuS: number;
  wcLinesPerCpuSec: number;
  wcMbPerCpuSec: number;
}

/** `wc -l` on the file: its CPU seconds (user + sys) from /usr/bin/time, and its line count. */
function wc(path: string): { lines: number; cpuS: number } {
  const r = spawnSync('/usr/bin/time', ['-f', '%U %S', 'wc', '-l', path], { encoding: 'utf8' });
  const [user, sys] = r.stderr.trim().split(/\s+/).slice(-2).map(Number) as [number, number];
  return { lines: Number(r.stdout.trim().split(/\s+/)[0]), cpuS: user + sys };
}

async function throughput(
  lineCount: number,
  consumerName: string,
  pollBytes: number,
): Promise<ThroughputRow[]> {
  const hostRoot = mkdtempSync(join(tmpdir(), 'vigil-bench-logs-'));
  try {
    const path = podFile(hostRoot, 'big');
    spawnSync(process.execPath, [join(import.meta.dirname, 'fixtures.ts'), path, String(lineCount)], {
      stdio: 'inherit',
    });
    const bytes = statSync(path).size;
    const physical = wc(path).lines;
    const rows: ThroughputRow[] = [];
    for (let run = 1; run <= 3; run++) {
      // wc -l over a cached file takes ~0.05 CPU s: time 10 passes so /usr/bin/time's 10 ms grain does not matter.
      let wcCpuS = 0;
      for (let i = 0; i < 10; i++) wcCpuS += wc(path).cpuS;
      wcCpuS /= 10;
      const { consume, result } = (consumers[consumerName as 'count'] ?? consumers.count)();
      const tailer = new LogTailer({ hostRoot, hostGlobs: [] });
      const rssBase = process.memoryUsage.rss();
      let rss = rssBase;
      let records = 0;
      const cpu0 = process.cpuUsage();
      const t0 = process.hrtime.bigint();
      let lines = 0;
      while (lines < physical) {
        const res = await tailer.poll(pollBytes);
        consume(res.records);
        records += res.records.length;
        lines = tailer.stats().lines;
        rss = Math.max(rss, process.memoryUsage.rss());
      }
      const wallS = Number(process.hrtime.bigint() - t0) / 1e9;
      const cpu = process.cpuUsage(cpu0);
      const cpuS = (cpu.user + cpu.system) / 1e6;
      result();
      await tailer.close();
      rows.push({
        run,
        lines,
        records,
        mb: bytes / 1e6,
        wallS,
        cpuS,
        linesPerSec: lines / wallS,
        linesPerCpuSec: lines / cpuS,
        mbPerSec: bytes / 1e6 / wallS,
        rssMb: rss / 1e6,
        rssBaseMb: rssBase / 1e6,
        wcCpuS,
        wcLinesPerCpuSec: physical / wcCpuS,
        wcMbPerCpuSec: bytes / 1e6 / wcCpuS,
      });
    }
    return rows;
  } finally {
    rmSync(hostRoot, { recursive: true, force: true });
  }
}

interface FilesRow {
  files: number;
  perFileRate: number;
  totalRate: number;
  maxOpenFiles: number;
  seconds: number;
  written: number;
  read: number;
  cpuPercent: number;
  cpuUsPerLine: number;
  rssMb: number;
}

async function manyFiles(
  files: number,
  perFileRate: number,
  seconds: number,
  maxOpenFiles: number,
): Promise<FilesRow> {
  const hostRoot = mkdtempSync(join(tmpdir(), 'vigil-bench-files-'));
  try {
    const paths: string[] = [];
    for (let i = 0; i < files; i++) {
      const p = podFile(hostRoot, `p${i}`);
      writeFileSync(p, '');
      paths.push(p);
    }
    const tailer = new LogTailer({ hostRoot, hostGlobs: [], maxOpenFiles });
    await tailer.poll();
    const child = spawn(
      process.execPath,
      [
        join(import.meta.dirname, 'writer-child.ts'),
        JSON.stringify(paths),
        String(perFileRate),
        String(seconds),
      ],
      {
        stdio: ['ignore', 'pipe', 'inherit'],
      },
    );
    let out = '';
    child.stdout.on('data', (c: Buffer) => {
      out += c.toString();
    });
    const exited = new Promise<void>((r) => child.on('exit', () => r()));
    let finished = false;
    void exited.then(() => {
      finished = true;
    });
    let read = 0;
    let rss = 0;
    const cpu0 = process.cpuUsage();
    const t0 = Date.now();
    // The agent's loop: poll every 200 ms, at once again while a poll reports more.
    while (!finished) {
      const res = await tailer.poll();
      read += res.records.length;
      rss = Math.max(rss, process.memoryUsage.rss());
      if (!res.more) await new Promise((r) => setTimeout(r, 200));
    }
    const wallMs = Date.now() - t0;
    const cpu = process.cpuUsage(cpu0);
    const written = Number(out.trim());
    for (let i = 0; i < 20 && read < written; i++) {
      read += (await tailer.poll()).records.length;
      await new Promise((r) => setTimeout(r, 50));
    }
    await tailer.close();
    const cpuUs = cpu.user + cpu.system;
    return {
      files,
      perFileRate,
      totalRate: files * perFileRate,
      maxOpenFiles,
      seconds: wallMs / 1000,
      written,
      read,
      cpuPercent: (cpuUs / 1000 / wallMs) * 100,
      cpuUsPerLine: written > 0 ? cpuUs / written : 0,
      rssMb: rss / 1e6,
    };
  } finally {
    rmSync(hostRoot, { recursive: true, force: true });
  }
}

const f1 = (n: number) => n.toFixed(1);
const results: Record<string, unknown> = { node: process.version, date: new Date().toISOString() };

/** Runs `manyFiles` in a child process so each scenario's peak RSS is its own. */
function manyFilesIsolated(files: number, rate: number, seconds: number, cap: number): FilesRow {
  const r = spawnSync(process.execPath, [import.meta.filename, '--scenario', `${files},${rate},${seconds},${cap}`], {
    encoding: 'utf8',
    stdio: ['ignore', 'pipe', 'inherit'],
    maxBuffer: 1 << 20,
  });
  return JSON.parse(r.stdout) as FilesRow;
}

if (args.scenario !== '') {
  const [files, rate, seconds, cap] = args.scenario.split(',').map(Number) as [number, number, number, number];
  process.stdout.write(`${JSON.stringify(await manyFiles(files, rate, seconds, cap))}\n`);
  process.exit(0);
}

if (args.only === '' || args.only === 'throughput') {
  const rows = await throughput(Number(args.lines), args.consumer, Number(args['poll-bytes']));
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

mkdirSync(join(root, 'bench/results'), { recursive: true });
writeFileSync(join(root, 'bench/results/logs.json'), `${JSON.stringify(results, null, 2)}\n`);
