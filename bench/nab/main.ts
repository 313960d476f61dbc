// NAB benchmark: runs `vigil detect-series` as a subprocess over every series under the NAB data folder and
// scores its output the NAB way (standard profile): the detector's own `anomaly` decisions, and NAB's
// best-threshold sweep over `score` for comparison. Usage:
//   npx node bench/nab/main.ts [--data DIR] [--filter SUBSTR] [--in-process]
import { spawn } from 'node:child_process';
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { dirname, join, relative, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { createSeriesDetector } from '../../agent/detect/metrics/detector.ts';
import { parseRow, parseTimestamp } from '../../agent/detect/metrics/series-csv.ts';
import { listCsv, readWindows } from './dataset.ts';
import {
  normalise,
  type ScoredPoint,
  STANDARD_PROFILE,
  scoreByThreshold,
  scoreDecisions,
  sweepScores,
} from './scoring.ts';

const root = resolve(dirname(fileURLToPath(import.meta.url)), '../..');
const { values: args } = parseArgs({
  options: {
    data: { type: 'string', default: resolve(root, '../shared/data/nab') },
    filter: { type: 'string', default: '' },
    'in-process': { type: 'boolean', default: false },
    quiet: { type: 'boolean', default: false },
  },
});
const dataDir = resolve(args.data);

interface Output {
  timestamp: string;
  score: number;
  anomaly: boolean;
}

function runCli(file: string): Promise<Output[]> {
  return new Promise((ok, fail) => {
    const child = spawn(process.execPath, [join(root, 'cli/main.ts'), 'detect-series', file], {
      stdio: ['ignore', 'pipe', 'inherit'],
    });
    const chunks: Buffer[] = [];
    child.stdout.on('data', (c: Buffer) => chunks.push(c));
    child.on('error', fail);
    child.on('close', (code) => {
      if (code !== 0) return fail(new Error(`detect-series exited ${code} on ${file}`));
      const lines = Buffer.concat(chunks)
        .toString('utf8')
        .split('\n')
        .filter((l) => l !== '');
      ok(lines.map((l) => JSON.parse(l) as Output));
    });
  });
}

function runInProcess(file: string): Output[] {
  const detector = createSeriesDetector();
  const lines = readFileSync(file, 'utf8')
    .split('\n')
    .slice(1)
    .filter((l) => l.trim() !== '');
  return lines.map((line) => {
    const row = parseRow(line);
    if (!row.ok) return { timestamp: row.timestamp, score: 0, anomaly: false };
    const r = detector.update(row.timeMs, row.value);
    return { timestamp: row.timestamp, score: r.score, anomaly: r.anomaly };
  });
}

async function mapLimit<T, R>(items: T[], limit: number, fn: (t: T) => Promise<R>): Promise<R[]> {
  const out = new Array<R>(items.length);
  let next = 0;
  const workers = Array.from({ length: limit }, async () => {
    while (next < items.length) {
      const i = next++;
      out[i] = await fn(items[i] as T);
    }
  });
  await Promise.all(workers);
  return out;
}

const windowsByFile = readWindows(dataDir);
const files = listCsv(join(dataDir, 'data')).filter((f) => f.includes(args.filter));
const started = performance.now();
const outputs = await mapLimit(files, 2, async (f) => (args['in-process'] ? runInProcess(f) : runCli(f)));
const seconds = (performance.now() - started) / 1000;

interface FileResult {
  file: string;
  category: string;
  rows: number;
  windows: number;
  detected: number;
  falsePositives: number;
  raw: number;
}

const cost = STANDARD_PROFILE;
const perFile: FileResult[] = [];
const allPoints: ScoredPoint[] = [];
let windowTotal = 0;
for (let k = 0; k < files.length; k++) {
  const file = files[k] as string;
  const key = relative(join(dataDir, 'data'), file).split('\\').join('/');
  const out = outputs[k] as Output[];
  const dataRows = readFileSync(file, 'utf8')
    .split('\n')
    .slice(1)
    .filter((l) => l.trim() !== '');
  if (dataRows.length !== out.length)
    throw new Error(`${key}: ${out.length} output lines for ${dataRows.length} rows`);
  const times = dataRows.map((l) => parseTimestamp(l.slice(0, l.indexOf(','))));
  out.forEach((o, i) => {
    if (o.timestamp !== dataRows[i]?.slice(0, dataRows[i]?.indexOf(',')))
      throw new Error(`${key}: row ${i} misaligned`);
  });
  const windows = (windowsByFile[key] ?? []).map(([a, b]) => [parseTimestamp(a), parseTimestamp(b)] as const);
  const points = sweepScores(
    times,
    out.map((o) => o.score),
    windows,
    key,
    cost,
  );
  allPoints.push(...points);
  const d = scoreDecisions(
    points,
    out.map((o) => o.anomaly),
    cost,
  );
  windowTotal += windows.length;
  perFile.push({
    file: key.split('/')[1] ?? key,
    category: key.split('/')[0] ?? '',
    rows: dataRows.length,
    windows: d.windows,
    detected: d.windowsDetected,
    falsePositives: d.falsePositives,
    raw: d.raw,
  });
}

function summarise(rows: FileResult[]) {
  const raw = rows.reduce((a, r) => a + r.raw, 0);
  const windows = rows.reduce((a, r) => a + r.windows, 0);
  return {
    score: normalise(raw, windows, cost),
    raw,
    windows,
    detected: rows.reduce((a, r) => a + r.detected, 0),
    falsePositives: rows.reduce((a, r) => a + r.falsePositives, 0),
  };
}

const own = summarise(perFile);
const sweep = scoreByThreshold(allPoints, cost);
const best = sweep.reduce((a, b) => (b.score > a.score ? b : a));
const bestScore = normalise(best.score, windowTotal, cost);
const categories = [...new Set(perFile.map((r) => r.category))].map((c) => ({
  category: c,
  ...summarise(perFile.filter((r) => r.category === c)),
}));
// Overfitting check: every parameter choice is compared on both halves (series at even and odd positions of
// the sorted list); a change is kept only when it holds on each half, not just on the total.
const halves = [0, 1].map((parity) => ({
  half: parity === 0 ? 'even-indexed series' : 'odd-indexed series',
  ...summarise(perFile.filter((_, i) => i % 2 === parity)),
}));

if (!args.quiet) {
  console.log('| series | rows | windows | detected | FPs | raw |');
  console.log('| --- | ---: | ---: | ---: | ---: | ---: |');
  for (const r of perFile)
    console.log(
      `| ${r.file} | ${r.rows} | ${r.windows} | ${r.detected} | ${r.falsePositives} | ${r.raw.toFixed(3)} |`,
    );
  console.log('');
}
console.log('| scope | NAB standard score | windows detected | FPs |');
console.log('| --- | ---: | ---: | ---: |');
for (const c of categories)
  console.log(
    `| ${c.category} (own decisions) | ${c.score.toFixed(1)} | ${c.detected}/${c.windows} | ${c.falsePositives} |`,
  );
for (const h of halves)
  console.log(
    `| ${h.half} (own decisions) | ${h.score.toFixed(1)} | ${h.detected}/${h.windows} | ${h.falsePositives} |`,
  );
console.log(
  `| all ${files.length} series (own decisions) | ${own.score.toFixed(1)} | ${own.detected}/${own.windows} | ${own.falsePositives} |`,
);
console.log(
  `| all ${files.length} series (best threshold ${best.threshold.toFixed(4)} on score) | ${bestScore.toFixed(1)} | ${best.tp} pts in windows | ${best.fp} |`,
);
console.log(`\n${args['in-process'] ? 'in-process' : 'CLI subprocess'} run: ${seconds.toFixed(1)} s`);

if (!args.filter && !args['in-process']) {
  mkdirSync(join(root, 'bench/results'), { recursive: true });
  writeFileSync(
    join(root, 'bench/results/nab.json'),
    `${JSON.stringify(
      {
        benchmark: 'nab',
        profile: 'standard',
        series: files.length,
        windows: windowTotal,
        ownDecisions: own,
        bestThreshold: { threshold: best.threshold, score: bestScore, raw: best.score },
        categories,
        halves,
        perFile,
        seconds,
        published: {
          numentaHTM: 72.9,
          cadOse: 71.9,
          ARTime: 69.9,
          knnCad: 58.1,
          skyline: 46.2,
          twitterAdvec: 44.8,
        },
      },
      null,
      2,
    )}\n`,
  );
}
