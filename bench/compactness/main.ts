// bench/compactness: what the agents send against what they read. Runs a scenario on the simulated cluster
// (its containers log a realistic mix: access logs, JSON, logfmt, database logs, errors during the fault),
// one real agent per node and an aggregator, and sums, over every accepted summary, the bytes on the wire
// (the encoded summary plus the batch framing) and the raw log bytes the agent read for it.
// Usage: npx node bench/compactness/main.ts [--scenario default] [--seconds 60] [--speed 1]
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { toBinary } from '@bufbuild/protobuf';
import { pino } from 'pino';
import { type Agent, startAgent } from '../../agent/agent.ts';
import { agentSettings } from '../../agent/settings.ts';
import { startAggregator } from '../../aggregator/aggregator.ts';
import { aggregatorSettings } from '../../aggregator/settings.ts';
import { loadConfig } from '../../common/config/settings.ts';
import { SummarySchema } from '../../proto/gen/vigil/v1/summary_pb.js';
import { startSimulator } from '../../sim/simulator.ts';

const { values } = parseArgs({
  options: {
    scenario: { type: 'string', default: 'default' },
    seconds: { type: 'string', default: '60' },
    speed: { type: 'string', default: '1' },
  },
});
const logger = pino({ level: 'silent' });
const work = mkdtempSync(join(tmpdir(), 'vigil-compact-'));
const sim = await startSimulator({
  scenario: values.scenario,
  root: join(work, 'cluster'),
  speed: Number(values.speed),
  logger,
});
const aggregator = await startAggregator(
  {
    ...loadConfig(aggregatorSettings, { section: 'aggregator' }),
    grpcHost: '127.0.0.1',
    grpcPort: 0,
    httpPort: 0,
    stateDir: join(work, 'agg'),
    kubeconfig: sim.kubeconfigPath,
  },
  logger,
);
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
const agents: Agent[] = [];
for (const node of sim.nodes) {
  agents.push(
    await startAgent(
      {
        ...loadConfig(agentSettings, { section: 'agent' }),
        node,
        aggregator: `127.0.0.1:${aggregator.grpcPort}`,
        stateDir: join(work, 'agents', node),
        hostRoot: sim.nodeRoot(node),
        kubeconfig: sim.kubeconfigPath,
        httpPort: 0,
        procScanSeconds: 0,
      },
      logger,
    ),
  );
}
const seconds = Number(values.seconds);
await new Promise((r) => setTimeout(r, seconds * 1000));
for (const a of agents) await a.stop();
await aggregator.stop();
await sim.stop();
rmSync(work, { recursive: true, force: true });

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
