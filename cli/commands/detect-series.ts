// `vigil detect-series FILE.csv`: runs the agent's streaming metric detector, with its defaults and learning
// online, over a `timestamp,value` CSV and writes one JSON line per data row to stdout:
// {"timestamp": "...", "score": 0..1, "anomaly": true|false}. Rows it cannot read still get a line
// (score 0, anomaly false) so output lines stay aligned with input rows; the reason goes to stderr.
import { createReadStream } from 'node:fs';
import { createInterface } from 'node:readline';
import type { Command } from 'commander';
import { createSeriesDetector } from '../../agent/detect/metrics/detector.ts';
import { parseRow } from '../../agent/detect/metrics/series-csv.ts';

export function register(program: Command): void {
  program
    .command('detect-series')
    .description('score a timestamp,value CSV with the streaming metric detector (one JSON line per row)')
    .argument('<file>', 'CSV file with a header line and timestamp,value rows')
    .option('--counter', 'treat the value as a monotonically increasing counter (score its rate)')
    .action(async (file: string, options: { counter?: boolean }) => {
      process.exitCode = await detectSeriesFile(file, options.counter === true);
    });
}

async function detectSeriesFile(file: string, counter: boolean): Promise<number> {
  const detector = createSeriesDetector({ mode: counter ? 'counter' : 'gauge' });
  const input = createReadStream(file);
  let failed: Error | undefined;
  input.on('error', (err) => {
    failed = err;
  });
  const lines = createInterface({ input, crlfDelay: Number.POSITIVE_INFINITY });
  let lineNo = 0;
  let out = '';
  let badRows = 0;
  try {
    for await (const line of lines) {
      lineNo++;
      if (lineNo === 1) continue; // header
      if (line.trim() === '') continue;
      const row = parseRow(line);
      if (!row.ok) {
        badRows++;
        process.stderr.write(`detect-series: ${file}:${lineNo}: ${row.reason}; scored 0\n`);
        out += `${JSON.stringify({ timestamp: row.timestamp, score: 0, anomaly: false })}\n`;
      } else {
        const r = detector.update(row.timeMs, row.value);
        const score = Math.round(r.score * 1e6) / 1e6;
        out += `${JSON.stringify({ timestamp: row.timestamp, score, anomaly: r.anomaly })}\n`;
      }
      if (out.length > 65_536) {
        if (!process.stdout.write(out)) await new Promise((resolve) => process.stdout.once('drain', resolve));
        out = '';
      }
    }
  } catch (err) {
    failed = err as Error;
  }
  if (out.length > 0) process.stdout.write(out);
  if (failed) {
    process.stderr.write(`detect-series: cannot read ${file}: ${failed.message}\n`);
    return 2;
  }
  if (badRows > 0) process.stderr.write(`detect-series: ${badRows} unreadable row(s) scored 0\n`);
  return 0;
}
