// Development aid: where the detector's decisions fall relative to NAB's windows, per series.
//   npx node bench/nab/inspect.ts [--filter SUBSTR]
import { readFileSync } from 'node:fs';
import { dirname, join, relative, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { createSeriesDetector } from '../../agent/detect/metrics/detector.ts';
import { parseRow, parseTimestamp } from '../../agent/detect/metrics/series-csv.ts';
import { listCsv, readWindows } from './dataset.ts';
import { probationaryLength } from './scoring.ts';

const root = resolve(dirname(fileURLToPath(import.meta.url)), '../..');
const { values: args } = parseArgs({
  options: {
    data: { type: 'string', default: resolve(root, '../shared/data/nab') },
    filter: { type: 'string', default: '' },
  },
});
const dataDir = resolve(args.data);
const windowsByFile = readWindows(dataDir);
const labelsByFile = JSON.parse(readFileSync(join(dataDir, 'labels/combined_labels.json'), 'utf8')) as Record<
  string,
  string[]
>;

for (const file of listCsv(join(dataDir, 'data')).filter((f) => f.includes(args.filter))) {
  const key = relative(join(dataDir, 'data'), file);
  const rows = readFileSync(file, 'utf8')
    .split('\n')
    .slice(1)
    .filter((l) => l.trim() !== '');
  const times = rows.map((l) => parseTimestamp(l.slice(0, l.indexOf(','))));
  const windows = (windowsByFile[key] ?? []).map(([a, b]) => [
    times.indexOf(parseTimestamp(a)),
    times.indexOf(parseTimestamp(b)),
  ]);
  const labels = (labelsByFile[key] ?? []).map((l) => times.indexOf(parseTimestamp(l)));
  const detector = createSeriesDetector();
  const marks: string[] = [];
  rows.forEach((line, i) => {
    const row = parseRow(line);
    if (!row.ok) return;
    const r = detector.update(row.timeMs, row.value);
    if (!r.anomaly) return;
    const w = windows.findIndex(([a, b]) => i >= (a as number) && i <= (b as number));
    const where =
      w < 0
        ? 'FP'
        : `W${w}@${(((i - (windows[w]?.[0] ?? 0)) / ((windows[w]?.[1] ?? 1) - (windows[w]?.[0] ?? 0))) * 100).toFixed(0)}%`;
    marks.push(`${i}:${r.kind}:${where}:${new Date(row.timeMs).toISOString().slice(5, 16)}`);
  });
  console.log(
    `${key.split('/')[1]} n=${rows.length} prob=${probationaryLength(rows.length)} windows=${JSON.stringify(windows)} labels=${JSON.stringify(labels)}`,
  );
  console.log(`   ${marks.join('  ')}`);
}
