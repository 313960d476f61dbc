// bench/fanin: N simulated agents (real gRPC clients, in separate processes) against one aggregator
// process. Reports sustained batches/s, ack latency p50/p99, and the aggregator's CPU and RSS.
// Usage: npx node bench/fanin/main.ts [--agents 100,1000,5000] [--measure-seconds 15]
import { type ChildProcess, spawn } from 'node:child_process';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { parseArgs } from 'node:util';

const { values } = parseArgs({
  options: {
    agents: { type: 'string', default: '100,1000,5000' },
    'measure-seconds': { type: 'string', default: '15' },
    generators: { type: 'string', default: '1' },
  },
});
const levels = values.agents.split(',').map(Number);
const measureMs = Number(values['measure-seconds']) * 1000;
const generators = Number(values.generators);
const CLK_TCK = 100;

function cpuSeconds(pid: number): number {
  const fields = readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1]!.split(' ');
  return (Number(fields[11]) + Number(fields[12])) / CLK_TCK; // utime + stime
}
function rssMiB(pid: number): number {
  const m = /VmRSS:\s+(\d+) kB/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
  return m ? Number(m[1]) / 1024 : 0;
}
function quantile(sorted: number[], q: number): number {
  if (sorted.length === 0) return Number.NaN;
  return sorted[Math.min(sorted.length - 1, Math.floor(q * sorted.length))]!;
}
function lines(child: ChildProcess): AsyncIterator<string> {
  return createInterface({ input: child.stdout! })[Symbol.asyncIterator]();
}
async function nextJson(it: AsyncIterator<string>): Promise<Record<string, unknown>> {
  for (;;) {
    const r = await it.next();
    if (r.done) throw new Error('load generator exited early');
    try {
      return JSON.parse(r.value) as Record<string, unknown>;
    } catch {}
  }
}

async function waitForLine(child: ChildProcess, msg: string): Promise<Record<string, unknown>> {
  const rl = createInterface({ input: child.stderr! });
  for await (const line of rl) {
    try {
      const j = JSON.parse(line) as Record<string, unknown>;
      if (j['msg'] === msg) {
        rl.close();
        child.stderr!.resume();
        return j;
      }
    } catch {}
  }
  throw new Error(`aggregator exited before "${msg}"`);
}

interface Row {
  agents: number;
  batchesPerSecond: number;
  expectedPerSecond: number;
  ackP50Ms: number;
  ackP99Ms: number;
  aggregatorCpuCores: number;
  aggregatorRssMiB: number;
}

async function run(agents: number): Promise<Row> {
  const stateDir = mkdtempSync(join(tmpdir(), 'vigil-fanin-'));
  const agg = spawn(
    process.execPath,
    [
      'cli/main.ts',
      'aggregator',
      '--grpc-host',
      '127.0.0.1',
      '--grpc-port',
      '0',
      '--http-port',
      '0',
      '--state-dir',
      stateDir,
    ],
    { stdio: ['ignore', 'ignore', 'pipe'] },
  );
  const started = await waitForLine(agg, 'aggregator started');
  const address = `127.0.0.1:${started['grpcPort']}`;
  const per = Math.ceil(agents / generators);
  const gens = Array.from({ length: generators }, (_, g) =>
    spawn(
      process.execPath,
      [
        'bench/fanin/load-agents.ts',
        address,
        String(Math.min(per, agents - g * per)),
        `bench-${g}`,
        String(measureMs),
      ],
      {
        stdio: ['pipe', 'pipe', 'inherit'],
      },
    ),
  );
  const its = gens.map(lines);
  await Promise.all(its.map(nextJson)); // ready
  for (const g of gens) g.stdin!.write('go\n');
  // Warm-up happens inside the generators (2 s); measure the aggregator over the same window.
  await new Promise((r) => setTimeout(r, 2000));
  const cpu0 = cpuSeconds(agg.pid!);
  const t0 = performance.now();
  let peakRss = 0;
  const rssTimer = setInterval(() => (peakRss = Math.max(peakRss, rssMiB(agg.pid!))), 500);
  const results = (await Promise.all(its.map(nextJson))).map(
    (j) => j['result'] as { acked: number; elapsed: number; latencies: number[] },
  );
  const cpu = (cpuSeconds(agg.pid!) - cpu0) / ((performance.now() - t0) / 1000);
  clearInterval(rssTimer);
  agg.kill('SIGTERM');
  await new Promise((r) => agg.once('exit', r));
  rmSync(stateDir, { recursive: true, force: true });
  const lat = results.flatMap((r) => r.latencies).sort((a, b) => a - b);
  const acked = results.reduce((s, r) => s + r.acked, 0);
  const elapsed = Math.max(...results.map((r) => r.elapsed));
  return {
    agents,
    batchesPerSecond: Math.round(acked / elapsed),
    expectedPerSecond: agents,
    ackP50Ms: Number(quantile(lat, 0.5).toFixed(2)),
    ackP99Ms: Number(quantile(lat, 0.99).toFixed(2)),
    aggregatorCpuCores: Number(cpu.toFixed(3)),
    aggregatorRssMiB: Math.round(peakRss),
  };
}

const rows: Row[] = [];
for (const n of levels) {
  process.stderr.write(`fanin: ${n} agents…\n`);
  rows.push(await run(n));
}
const header = [
  'agents',
  'batches/s',
  'expected/s',
  'ack p50 ms',
  'ack p99 ms',
  'aggr CPU cores',
  'aggr RSS MiB',
];
const body = rows.map((r) =>
  [
    r.agents,
    r.batchesPerSecond,
    r.expectedPerSecond,
    r.ackP50Ms,
    r.ackP99Ms,
    r.aggregatorCpuCores,
    r.aggregatorRssMiB,
  ].map(String),
);
const widths = header.map((h, i) => Math.max(h.length, ...body.map((b) => b[i]!.length)));
const fmt = (cells: string[]) => cells.map((c, i) => c.padStart(widths[i]!)).join('  ');
process.stdout.write(`${fmt(header)}\n${body.map(fmt).join('\n')}\n`);
mkdirSync('bench/results', { recursive: true });
writeFileSync(
  'bench/results/fanin.json',
  `${JSON.stringify({ bench: 'fanin', date: new Date().toISOString(), measureSeconds: measureMs / 1000, rows }, null, 2)}\n`,
);
