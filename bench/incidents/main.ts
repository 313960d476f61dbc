// bench/incidents: every shipped scenario through `vigil scenario run <name> --json --approve-all` (a
// subprocess each, as the evaluation runs it), reporting noise reduction, AC@1/AC@3 and the times from
// fault to incident, to remediation and to resolution.
// Usage: npx node bench/incidents/main.ts [--only default,bad-rollout] [--parallel 2] [--speed 2]
import { execFile } from 'node:child_process';
import { mkdirSync, readdirSync, writeFileSync } from 'node:fs';
import { parseArgs, promisify } from 'node:util';

const run = promisify(execFile);
const { values } = parseArgs({
  options: {
    only: { type: 'string' },
    parallel: { type: 'string', default: '2' },
    speed: { type: 'string', default: '2' },
  },
});
const all = readdirSync('sim/scenarios')
  .filter((f) => f.endsWith('.yaml'))
  .map((f) => f.replace(/\.yaml$/, ''))
  .sort();
const names = values.only ? values.only.split(',') : all;

interface Report {
  scenario: string;
  signals: number;
  incidents: number;
  rootCause: { expected: { kind: string; object: string }; ranked: Array<{ kind: string; object: string }> };
  detectSeconds: number | null;
  remediateSeconds: number | null;
  resolveSeconds: number | null;
}

// A hit needs the fault kind and the object, both in the scenario file's vocabulary.
const same = (a: { kind: string; object: string }, b: { kind: string; object: string }) =>
  a.kind === b.kind && a.object === b.object;

async function one(name: string): Promise<Report> {
  const { stdout } = await run(
    process.execPath,
    ['cli/main.ts', 'scenario', 'run', name, '--json', '--approve-all', '--speed', values.speed],
    { maxBuffer: 16 * 1024 * 1024, timeout: 600_000 },
  );
  return JSON.parse(stdout.trim().split('\n').at(-1)!) as Report;
}

const reports: Report[] = [];
const queue = [...names];
await Promise.all(
  Array.from({ length: Math.max(1, Number(values.parallel)) }, async () => {
    for (let name = queue.shift(); name; name = queue.shift()) {
      process.stderr.write(`incidents: ${name}…\n`);
      reports.push(await one(name));
    }
  }),
);
reports.sort((a, b) => a.scenario.localeCompare(b.scenario));

const rows = reports.map((r) => {
  const ranked = r.rootCause.ranked;
  return {
    scenario: r.scenario,
    signals: r.signals,
    incidents: r.incidents,
    noiseReduction: r.signals > 0 ? 1 - r.incidents / r.signals : 0,
    ac1: ranked[0] ? same(ranked[0], r.rootCause.expected) : false,
    ac3: ranked.slice(0, 3).some((c) => same(c, r.rootCause.expected)),
    expected: `${r.rootCause.expected.kind} ${r.rootCause.expected.object}`,
    top: ranked[0] ? `${ranked[0].kind} ${ranked[0].object}` : '—',
    detectSeconds: r.detectSeconds,
    remediateSeconds: r.remediateSeconds,
    resolveSeconds: r.resolveSeconds,
  };
});
const totalSignals = rows.reduce((s, r) => s + r.signals, 0);
const totalIncidents = rows.reduce((s, r) => s + r.incidents, 0);
const summary = {
  scenarios: rows.length,
  signals: totalSignals,
  incidents: totalIncidents,
  noiseReduction: totalSignals > 0 ? 1 - totalIncidents / totalSignals : 0,
  ac1: rows.filter((r) => r.ac1).length / Math.max(1, rows.length),
  ac3: rows.filter((r) => r.ac3).length / Math.max(1, rows.length),
};

const fmt = (v: number | null) => (v === null ? '—' : v.toFixed(1));
const header = [
  'scenario',
  'signals',
  'incidents',
  'noise red.',
  'AC@1',
  'AC@3',
  'detect s',
  'remediate s',
  'resolve s',
  'top candidate',
];
const body = rows.map((r) => [
  r.scenario,
  String(r.signals),
  String(r.incidents),
  `${(100 * r.noiseReduction).toFixed(1)} %`,
  r.ac1 ? 'yes' : 'no',
  r.ac3 ? 'yes' : 'no',
  fmt(r.detectSeconds),
  fmt(r.remediateSeconds),
  fmt(r.resolveSeconds),
  r.top,
]);
const widths = header.map((h, i) => Math.max(h.length, ...body.map((b) => b[i]!.length)));
const line = (cells: string[]) => cells.map((c, i) => c.padEnd(widths[i]!)).join('  ');
process.stdout.write(`${line(header)}\n${body.map(line).join('\n')}\n`);
process.stdout.write(
  `\nall: ${summary.signals} signals → ${summary.incidents} incidents (noise reduction ${(100 * summary.noiseReduction).toFixed(1)} %), AC@1 ${summary.ac1.toFixed(2)}, AC@3 ${summary.ac3.toFixed(2)}\n`,
);
mkdirSync('bench/results', { recursive: true });
writeFileSync(
  'bench/results/incidents.json',
  `${JSON.stringify({ bench: 'incidents', date: new Date().toISOString(), speed: Number(values.speed), summary, rows }, null, 2)}\n`,
);
