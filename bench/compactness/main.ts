// bench/compactness: what the agents send against what they read. Runs a scenario on the simulated cluster
// (its containers log a realistic mix: access logs, JSON, logfmt, database logs, errors during the fault),
// one real agent per node and an aggregator, at several log volumes (the simulator's log-rate multiplier),
// and sums, over every batch the agents write to their outbox, the bytes on the wire (the encoded summary
// plus the batch framing) and the raw log bytes the agents read for it. Each batch is also expanded the
// way the aggregator does and re-encoded without the dictionary (full digests, subjects inline): that is
// the size the same content had before the summary dictionary, measured on the same run. The log part (what the
// log pipeline controls) is reported against the raw log bytes too, and split into template texts, counts,
// exemplars and the rest (stream refs and definitions, lines, bytes).
// Usage: npx node bench/compactness/main.ts [--scenario default] [--seconds 40] [--volumes 1,10,50] [--speed 1] [--from steady|start]
import { mkdirSync, writeFileSync } from 'node:fs';
import { loadavg } from 'node:os';
import { parseArgs } from 'node:util';
import { create, fromBinary, toBinary } from '@bufbuild/protobuf';
import { pino } from 'pino';
import type { DropStats } from '../../agent/buffer/outbox.ts';
import { NodeDictionaries } from '../../aggregator/state/node-dictionaries.ts';
import { startLocalCluster } from '../../cli/scenario/local-cluster.ts';
import {
  type LogStreamSummary,
  LogStreamSummarySchema,
  type Summary,
  SummarySchema,
} from '../../proto/gen/vigil/v1/summary_pb.js';

const { values } = parseArgs({
  options: {
    scenario: { type: 'string', default: 'default' },
    seconds: { type: 'string', default: '40' },
    volumes: { type: 'string', default: '1,10,50' },
    speed: { type: 'string', default: '1' },
    // `steady`: measure after start-up (the definitions) has passed; `start`: from the agents' start, which
    // includes the definitions and, in the default scenario, the fault's error storm at +30 s.
    from: { type: 'string', default: 'steady' },
  },
});
/** Batch framing: seq, dropped_before, created_ms, the summary's length and the stream message tags. */
const FRAMING = 16;

interface Parts {
  batches: number;
  wire: number;
  log: number;
  metric: number;
  signal: number;
  framing: number;
  raw: number;
  lines: number;
  /** The same summaries without the dictionary (full digests, subjects inline). */
  unpacked: number;
  unpackedMetric: number;
  /** Digests the aggregator got (after expansion), and how many of them travelled as values. */
  series: number;
  listed: number;
  /** Of the wire bytes: series and stream definitions. */
  defs: number;
  /** Of the log part: template texts, counts (packed or plain), exemplars; the rest is stream framing. */
  logTexts: number;
  logCounts: number;
  logExemplars: number;
  /** Exemplar lines sent. */
  exemplars: number;
}
const zero = (): Parts => ({
  batches: 0,
  wire: 0,
  log: 0,
  metric: 0,
  signal: 0,
  framing: 0,
  raw: 0,
  lines: 0,
  unpacked: 0,
  unpackedMetric: 0,
  series: 0,
  listed: 0,
  defs: 0,
  logTexts: 0,
  logCounts: 0,
  logExemplars: 0,
  exemplars: 0,
});

const size = (s: Partial<Summary>) => toBinary(SummarySchema, create(SummarySchema, s as Summary)).length;
const logSize = (l: Partial<LogStreamSummary>) =>
  toBinary(LogStreamSummarySchema, create(LogStreamSummarySchema, l as LogStreamSummary)).length;

/** One batch's figures; expanding it advances the bench's copy of the aggregator dictionary. */
function measure(bytes: Uint8Array, dict: NodeDictionaries, node: string): Parts {
  const s = fromBinary(SummarySchema, bytes);
  const log = size({ logs: s.logs, streamDefs: s.streamDefs });
  const metric = size({
    metrics: s.metrics,
    seriesDefs: s.seriesDefs,
    ...(s.packedMetrics ? { packedMetrics: s.packedMetrics } : {}),
  });
  const signal = size({ signals: s.signals });
  const listed = s.packedMetrics?.refs.length ?? s.metrics.length;
  const defs = size({ seriesDefs: s.seriesDefs, streamDefs: s.streamDefs });
  let logTexts = 0;
  let logCounts = 0;
  let logExemplars = 0;
  let exemplars = 0;
  for (const l of s.logs) {
    logTexts += logSize({ templates: l.templates });
    logCounts += logSize({ counts: l.counts, packedCounts: l.packedCounts });
    logExemplars += logSize({ exemplars: l.exemplars, templateExemplars: l.templateExemplars ?? [] });
    exemplars += l.exemplars.length + (l.templateExemplars?.length ?? 0);
  }
  // The texts the wire carried: the aggregator's expansion adds the held ones, which "before" never sent.
  const sentTexts = s.logs.map((l) => l.templates.length);
  dict.expand(node, s);
  s.logs.forEach((l, i) => {
    l.templates = l.templates.slice(0, sentTexts[i] ?? 0);
  });
  const lines = s.logs.reduce((n, l) => n + Number(l.lines), 0);
  s.dictionaryEpoch = 0;
  return {
    batches: 1,
    wire: bytes.length + FRAMING,
    log,
    metric,
    signal,
    framing: bytes.length + FRAMING - log - metric - signal,
    raw: Number(s.rawBytesRead),
    lines,
    unpacked: toBinary(SummarySchema, s).length + FRAMING,
    unpackedMetric: size({ metrics: s.metrics }),
    series: s.metrics.length,
    listed,
    defs,
    logTexts,
    logCounts,
    logExemplars,
    exemplars,
  };
}

function add(into: Parts, p: Parts): void {
  for (const k of Object.keys(into) as Array<keyof Parts>) into[k] += p[k];
}

/** Until every agent has sampled its node's series (under load this takes a while after start), at most 90 s. */
async function untilMetricsFlow(agents: Array<{ digests: { size: number } }>): Promise<void> {
  const seen = agents.map(() => false);
  const deadline = Date.now() + 90_000;
  while (!seen.every(Boolean) && Date.now() < deadline) {
    agents.forEach((a, i) => {
      if (a.digests.size >= 10) seen[i] = true;
    });
    await new Promise((r) => setTimeout(r, 250));
  }
}

async function runAt(volume: number, seconds: number) {
  const logger = pino({ level: 'silent' });
  const cluster = await startLocalCluster({
    scenario: values.scenario,
    speed: Number(values.speed),
    logger,
    logVolume: volume,
  });
  const startup = zero();
  const measured = zero();
  const dict = new NodeDictionaries();
  let measuring = values.from === 'start';
  cluster.agents.forEach((agent, i) => {
    // local-cluster starts one agent per simulated node, in the simulator's order.
    const node = cluster.sim.nodes[i]!;
    const outbox = agent.outbox;
    const append = outbox.append.bind(outbox);
    outbox.append = (encode: (d: DropStats) => Uint8Array, opts) =>
      append((d) => {
        const bytes = encode(d);
        add(measuring ? measured : startup, measure(bytes, dict, node));
        return bytes;
      }, opts);
  });
  // Start-up first: the node's series appear, and the next window (10 s) carries their definitions. That
  // one-time cost is reported on its own; the measurement is the steady state after it.
  if (!measuring) {
    await untilMetricsFlow(cluster.agents);
    await new Promise((r) => setTimeout(r, 11_000));
    measuring = true;
  }
  const cpu0 = process.cpuUsage();
  await new Promise((r) => setTimeout(r, seconds * 1000));
  measuring = false;
  const cpu = process.cpuUsage(cpu0);
  await cluster.stop();
  return {
    measured,
    startup,
    nodes: cluster.sim.nodes.length,
    cpuSeconds: (cpu.user + cpu.system) / 1e6,
  };
}

const seconds = Number(values.seconds);
const volumes = values.volumes.split(',').map(Number);
const results = [];
for (const volume of volumes) {
  const load = loadavg()[0]!;
  const r = await runAt(volume, seconds);
  results.push({ volume, seconds, load1: load, ...r });
}

const pct = (a: number, b: number) => (b > 0 ? `${((100 * a) / b).toFixed(2)} %` : 'n/a');
// Per node per minute: per batch (one node's window) × 6 windows a minute.
const per = (x: number, p: Parts) => String(Math.round((x / Math.max(1, p.batches)) * 6));
function table(rows: string[][]): string {
  const widths = rows[0]!.map((_, i) => Math.max(...rows.map((r) => r[i]!.length)));
  return `${rows.map((r) => r.map((c, i) => (i === 0 ? c.padEnd(widths[i]!) : c.padStart(widths[i]!))).join('  ')).join('\n')}\n`;
}
const rows = [
  [
    'volume',
    'lines/s/node',
    'raw B/node/min',
    'wire B/node/min',
    'log',
    'metric',
    '(definitions)',
    'signals',
    'framing',
    'wire/raw',
    'log/raw',
    'before: wire/raw',
    'before: metric',
    'series/window',
    'listed/window',
    'start-up defs B/node',
    'load1',
  ],
  ...results.map((r) => {
    const a = r.measured;
    return [
      `×${r.volume}`,
      (a.lines / r.nodes / r.seconds).toFixed(1),
      per(a.raw, a),
      per(a.wire, a),
      per(a.log, a),
      per(a.metric, a),
      per(a.defs, a),
      per(a.signal, a),
      per(a.framing, a),
      pct(a.wire, a.raw),
      pct(a.log, a.raw),
      pct(a.unpacked, a.raw),
      per(a.unpackedMetric, a),
      (a.series / Math.max(1, a.batches)).toFixed(0),
      (a.listed / Math.max(1, a.batches)).toFixed(0),
      String(Math.round(r.startup.defs / r.nodes)),
      r.load1.toFixed(1),
    ];
  }),
];
process.stdout.write(table(rows));
process.stdout.write(
  `B/node/min = bytes per batch × 6 (10 s windows), measured ${values.from === 'start' ? "from the agents' start" : 'after start-up'}; before = the same summaries without the dictionary; start-up defs = definitions sent before the measurement (once per agent)\n\n`,
);
// The log part, B/node/min: what the log pipeline sends per window.
process.stdout.write(
  table([
    ['volume', 'log', 'texts', 'counts', 'exemplars', 'rest', 'exemplars/node/min', 'log/raw'],
    ...results.map((r) => {
      const a = r.measured;
      return [
        `×${r.volume}`,
        per(a.log, a),
        per(a.logTexts, a),
        per(a.logCounts, a),
        per(a.logExemplars, a),
        per(a.log - a.logTexts - a.logCounts - a.logExemplars, a),
        ((a.exemplars / Math.max(1, a.batches)) * 6).toFixed(1),
        pct(a.log, a.raw),
      ];
    }),
  ]),
);
mkdirSync('bench/results', { recursive: true });
writeFileSync(
  'bench/results/compactness.json',
  `${JSON.stringify({ bench: 'compactness', date: new Date().toISOString(), scenario: values.scenario, from: values.from, results }, null, 2)}\n`,
);
process.exit(0);
