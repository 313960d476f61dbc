// bench/compactness: what the agents send against what they read. Runs a scenario on the simulated cluster
// (its containers log a realistic mix: access logs, JSON, logfmt, database logs, errors during the fault),
// one real agent per node and an aggregator, and sums, over every accepted summary, the bytes on the wire
// (the encoded summary plus the batch framing) and the raw log bytes the agent read for it.
// Usage: npx node bench/compactness/main.ts [--scenario default] [--seconds 60] [--speed 1]
import { mkdirSync, writeFileSync } from 'node:fs';
import { parseArgs } from 'node:util';
import { toBinary } from '@bufbuild/protobuf';
import { pino } from 'pino';
import { startLocalCluster } from '../../cli/scenario/local-cluster.ts';
import { SummarySchema } from '../../proto/gen/vigil/v1/summary_pb.js';

const { values } = parseArgs({
  options: {
    scenario: { type: 'string', default: 'default' },
    seconds: { type: 'string', default: '60' },
    speed: { type: 'string', default: '1' },
  },
});
const logger = pino({ level: 'silent' });
const cluster = await startLocalCluster({ scenario: values.scenario, speed: Number(values.speed), logger });
const { sim, aggregator } = cluster;
const totals = {
  summaries: 0,
  wireBytes: 0,
  rawLogBytes: 0,
  logBytes: 0,
  metricBytes: 0,
  signalBytes: 0,
  lines: 0,
};
aggregator.registry.on('summary', (_node, _seq, s) => {
  totals.summaries++;
  totals.wireBytes += toBinary(SummarySchema, s).length + 16; // + seq, dropped_before, created_ms, framing
  totals.rawLogBytes += Number(s.rawBytesRead);
  for (const l of s.logs) totals.lines += Number(l.lines);
  totals.logBytes += s.logs.reduce(
    (n, l) => n + toBinary(SummarySchema, { ...s, metrics: [], signals: [], logs: [l] } as typeof s).length,
    0,
  );
  totals.signalBytes += toBinary(SummarySchema, { ...s, metrics: [], logs: [] } as typeof s).length;
  totals.metricBytes += toBinary(SummarySchema, { ...s, logs: [], signals: [] } as typeof s).length;
});
const seconds = Number(values.seconds);
await new Promise((r) => setTimeout(r, seconds * 1000));
await cluster.stop();

const nodes = sim.nodes.length;
const minutes = seconds / 60;
const ratio = totals.rawLogBytes > 0 ? totals.wireBytes / totals.rawLogBytes : Number.NaN;
const rows: Array<[string, string]> = [
  ['scenario', values.scenario],
  ['nodes', String(nodes)],
  ['window', '10 s (default)'],
  ['log lines read', String(totals.lines)],
  ['raw log bytes read', String(totals.rawLogBytes)],
  ['wire bytes sent (all summaries)', String(totals.wireBytes)],
  ['  of which log template counts and exemplars', String(totals.logBytes)],
  ['  of which metric digests', String(totals.metricBytes)],
  ['wire bytes per raw log byte', `${(100 * ratio).toFixed(2)} %`],
  ['wire bytes per node per minute', String(Math.round(totals.wireBytes / nodes / minutes))],
  [
    'log-part bytes per raw log byte',
    `${((100 * totals.logBytes) / Math.max(1, totals.rawLogBytes)).toFixed(2)} %`,
  ],
];
const w = Math.max(...rows.map((r) => r[0].length));
process.stdout.write(`${rows.map(([k, v]) => `${k.padEnd(w)}  ${v}`).join('\n')}\n`);
mkdirSync('bench/results', { recursive: true });
writeFileSync(
  'bench/results/compactness.json',
  `${JSON.stringify({ bench: 'compactness', date: new Date().toISOString(), seconds, ...totals, nodes, ratio, bytesPerNodePerMinute: totals.wireBytes / nodes / minutes }, null, 2)}\n`,
);
process.exit(0);
