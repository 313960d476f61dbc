// Cost of one metric collection sample. Usage: npx node bench/metrics-collect/main.ts [--samples 300]
// Builds node trees in the real file formats (see test/fixtures/proc/fake-node.ts) with 10, 100 and 300
// containers, samples each repeatedly through `createMetricCollector`, and reports wall and CPU µs per full
// sample (node + containers), per container, and the node part alone on this machine's real `/`.
// CPU per sample is given over all samples and for the least disturbed of 5 rounds.
// Prints a table and writes bench/results/metrics-collect.json.
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { loadavg, tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { pino } from 'pino';
import { createMetricCollector, type MetricCollector } from '../../agent/sources/metrics/collector.ts';
import type { MetricSink } from '../../agent/sources/metrics/metric-sink.ts';
import { writeFakeNode } from '../../test/fixtures/proc/fake-node.ts';

const root = resolve(dirname(fileURLToPath(import.meta.url)), '../..');
const { values: args } = parseArgs({ options: { samples: { type: 'string', default: '300' } } });
const SAMPLES = Number(args.samples);
const logger = pino({ level: 'silent' });

interface Row {
  case: string;
  containers: number;
  seriesPerSample: number;
  wallP50Us: number;
  wallP99Us: number;
  cpuMeanUs: number;
  cpuBestRoundUs: number;
  cpuPerContainerUs: number;
}

/** CPU is also measured in rounds; the least disturbed round tells the cost without the neighbours. */
const ROUNDS = 5;

function quantile(sorted: number[], q: number): number {
  return sorted[Math.min(sorted.length - 1, Math.floor(q * sorted.length))] ?? Number.NaN;
}

function measure(name: string, containers: number, collector: MetricCollector): Row {
  let series = 0;
  const sink: MetricSink = {
    add() {
      series++;
    },
  };
  let now = Date.now();
  // Warm-up: JIT, first readings of every counter, the pod-name directory.
  for (let i = 0; i < 20; i++) {
    now += 1000;
    collector.sample(sink, now);
  }
  const wall: number[] = [];
  series = 0;
  const perRound = Math.max(1, Math.floor(SAMPLES / ROUNDS));
  const rounds: number[] = [];
  const cpu0 = process.cpuUsage();
  let roundStart = process.cpuUsage();
  for (let i = 0; i < SAMPLES; i++) {
    now += 1000;
    const t0 = process.hrtime.bigint();
    collector.sample(sink, now);
    wall.push(Number(process.hrtime.bigint() - t0) / 1000);
    if ((i + 1) % perRound === 0) {
      const r = process.cpuUsage(roundStart);
      rounds.push((r.user + r.system) / perRound);
      roundStart = process.cpuUsage();
    }
  }
  const cpu = process.cpuUsage(cpu0);
  wall.sort((a, b) => a - b);
  const cpuMeanUs = (cpu.user + cpu.system) / SAMPLES;
  const cpuBestRoundUs = Math.min(...rounds);
  return {
    case: name,
    containers,
    seriesPerSample: Math.round(series / SAMPLES),
    wallP50Us: Math.round(quantile(wall, 0.5)),
    wallP99Us: Math.round(quantile(wall, 0.99)),
    cpuMeanUs: Math.round(cpuMeanUs),
    cpuBestRoundUs: Math.round(cpuBestRoundUs),
    cpuPerContainerUs: containers > 0 ? Math.round((cpuMeanUs / containers) * 10) / 10 : 0,
  };
}

const rows: Row[] = [];
rows.push(
  measure(
    'real / (node only; this host is cgroup v1)',
    0,
    createMetricCollector({ hostRoot: '/', node: 'bench', logger }),
  ),
);
for (const containers of [10, 100, 300]) {
  const dir = mkdtempSync(join(tmpdir(), 'vigil-bench-collect-'));
  try {
    writeFakeNode(dir, { pods: Math.ceil(containers / 2), containersPerPod: 2 });
    // Files written in place and never renamed, so keeping them open is valid here, as on cgroupfs.
    rows.push(
      measure(
        'fake node, files kept open (real-node mode)',
        containers,
        createMetricCollector({ hostRoot: dir, node: 'bench', logger, keepFilesOpen: true }),
      ),
    );
    rows.push(
      measure(
        'fake node, open per read (sim mode)',
        containers,
        createMetricCollector({ hostRoot: dir, node: 'bench', logger, keepFilesOpen: false }),
      ),
    );
    if (containers === 100)
      rows.push(
        measure(
          'fake node, node metrics only',
          0,
          createMetricCollector({
            hostRoot: dir,
            node: 'bench',
            logger,
            containers: false,
            keepFilesOpen: true,
          }),
        ),
      );
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

const keys = Object.keys(rows[0]!) as (keyof Row)[];
const width = keys.map((k) => Math.max(k.length, ...rows.map((r) => String(r[k]).length)));
const line = (cells: string[]) => `| ${cells.map((c, i) => c.padEnd(width[i]!)).join(' | ')} |`;
console.log(line(keys));
console.log(line(width.map((w) => '-'.repeat(w))));
for (const r of rows) console.log(line(keys.map((k) => String(r[k]))));

const out = join(root, 'bench', 'results', 'metrics-collect.json');
mkdirSync(dirname(out), { recursive: true });
writeFileSync(
  out,
  `${JSON.stringify(
    {
      generatedAt: new Date().toISOString(),
      node: process.version,
      samplesPerCase: SAMPLES,
      // The machine is shared: the 1-minute load average says how much to trust the timings.
      loadAvg1mAtStart: loadavg()[0],
      rows,
    },
    null,
    2,
  )}\n`,
);
