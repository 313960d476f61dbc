// Security detection evaluation. Usage: npx node bench/security/main.ts [--only ssh|audit|proc|throughput]
//  (a) replays the real sshd log loghub2k/OpenSSH through the `detect-log` CLI (a real child process) and
//      reports the attacking sources found with failure counts and first/last times, checked against an
//      independent fail2ban-style count made from loghub's labelled templates (structured CSV);
//  (b) scores every k8s_audit rule on the labelled audit corpus: hits, misses, false positives;
//  (c) measures what a /proc scan costs: µs per process on this machine's /proc and on a fake tree of
//      container processes with sockets (the costly path);
//  (d) throughput of the auth and audit pipelines (lines per second, one core).
// Prints tables to stdout and writes bench/results/security.json.

import { spawnSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { loadavg, tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { AuthLogParser } from '../../agent/detect/security/auth-parser.ts';
import { createAuditLogDetector, createAuthLogDetector } from '../../agent/detect/security/log-detector.ts';
import { scanProc } from '../../agent/detect/security/proc-scan.ts';
import { loadRuleSet } from '../../agent/detect/security/rule-loader.ts';
import type { DetectLogRecord } from '../../agent/detect/security/signal-record.ts';
import { type FakeProcess, writeFakeProc } from '../../test/fixtures/security/proc/fake-proc.ts';
import { AUDIT_CORPUS_DIR, evaluateAuditCorpus, type RuleScore } from './audit-corpus.ts';
import { backgroundAuditLines } from './background-traffic.ts';

const root = resolve(dirname(fileURLToPath(import.meta.url)), '../..');
const SSH_LOG = resolve(root, '../shared/data/loghub2k/OpenSSH/OpenSSH_2k.log');
const SSH_CSV = resolve(root, '../shared/data/loghub2k/OpenSSH/OpenSSH_2k.log_structured.csv');
// The loghub sample is from December; pin "now" so the year-less timestamps land in a fixed year.
const NOW = '2026-11-26T00:00:00Z';
const { values: args } = parseArgs({ options: { only: { type: 'string', default: '' } } });
// --only: ssh | audit | noise | proc | throughput
const want = (part: string) => args.only === '' || args.only === part;
const rules = loadRuleSet();
const results: Record<string, unknown> = {
  generatedAt: new Date().toISOString(),
  node: process.version,
  // The machine is shared: the 1-minute load average says how much to trust the timings.
  loadAvg1mAtStart: loadavg()[0],
};
const countRules = (source: string) => rules.rules.filter((r) => r.source === source).length;

function table(rows: Array<Record<string, string | number>>): void {
  if (rows.length === 0) return;
  const keys = Object.keys(rows[0]!);
  const width = keys.map((k) => Math.max(k.length, ...rows.map((r) => String(r[k]).length)));
  const line = (cells: string[]) => `| ${cells.map((c, i) => c.padEnd(width[i]!)).join(' | ')} |`;
  console.log(line(keys));
  console.log(line(width.map((w) => '-'.repeat(w))));
  for (const r of rows) console.log(line(keys.map((k) => String(r[k]))));
  console.log('');
}

// ---------- (a) real sshd log through the CLI ----------
interface SourceReport {
  source: string;
  failures: number;
  first: string;
  last: string;
  episodes: number;
  users: number;
  loginAfter: boolean;
}

/** Independent reference: failures per source from loghub's labelled templates, one per attempt. */
function referenceAttackers(): Map<string, number[]> {
  const lines = readFileSync(SSH_CSV, 'utf8').split('\n').slice(1);
  const perSession = new Map<
    string,
    { ip: string; t: number; failed: number; invalid: number; times: number[] }
  >();
  for (const row of lines) {
    if (!row) continue;
    const m = /^(\d+),(\w+),(\d+),([\d:]+),[^,]*,(\d+),(.*),(E\d+),/.exec(row);
    if (!m) continue;
    const [, , mon, day, time, pid, content, eventId] = m;
    const t = Date.parse(`2025-${mon === 'Dec' ? '12' : '01'}-${day!.padStart(2, '0')}T${time}Z`);
    const ip = /from (\d+\.\d+\.\d+\.\d+)/.exec(content!)?.[1];
    if (!ip) continue;
    const key = `${pid}:${ip}`;
    const s = perSession.get(key) ?? { ip, t, failed: 0, invalid: 0, times: [] };
    perSession.set(key, s);
    if (eventId === 'E8' || eventId === 'E9' || eventId === 'E10') {
      s.failed++;
      s.times.push(t);
    } else if (eventId === 'E14') {
      const n = Number(/repeated (\d+) times/.exec(content!)?.[1] ?? 1);
      s.failed += n;
      for (let i = 0; i < n; i++) s.times.push(t);
    } else if (eventId === 'E13') {
      s.invalid++;
      if (s.failed === 0) s.times.push(t);
    }
  }
  const bySource = new Map<string, number[]>();
  for (const s of perSession.values()) {
    // An "Invalid user" line and its "Failed password for invalid user" line are one attempt.
    const times = s.failed > 0 ? s.times.slice(s.invalid > 0 && s.times.length > s.failed ? 1 : 0) : s.times;
    bySource.set(
      s.ip,
      [...(bySource.get(s.ip) ?? []), ...times].sort((a, b) => a - b),
    );
  }
  const attackers = new Map<string, number[]>();
  for (const [ip, times] of bySource) {
    for (let i = 0; i + 4 < times.length; i++) {
      if (times[i + 4]! - times[i]! <= 600_000) {
        attackers.set(ip, times);
        break;
      }
    }
  }
  return attackers;
}

if (want('ssh')) {
  const started = performance.now();
  const cli = spawnSync(
    join(root, 'node_modules/.bin/node'),
    [join(root, 'cli/main.ts'), 'detect-log', '--kind', 'auth', '--now', NOW, SSH_LOG],
    { encoding: 'utf8', maxBuffer: 64 << 20 },
  );
  const cliMs = performance.now() - started;
  if (cli.status !== 0) throw new Error(`detect-log failed: ${cli.stderr}`);
  const records = cli.stdout
    .trimEnd()
    .split('\n')
    .map((l) => JSON.parse(l) as DetectLogRecord);
  // Per-source failure totals and first/last failure times from the parsed log.
  const parser = new AuthLogParser({ nowMs: Date.parse(NOW) });
  const perSource = new Map<string, { failures: number; first: number; last: number; users: Set<string> }>();
  for (const line of readFileSync(SSH_LOG, 'utf8').split('\n')) {
    const e = line ? parser.parse(line) : undefined;
    if (!e?.source || e.failures === 0) continue;
    const s = perSource.get(e.source) ?? { failures: 0, first: e.timeMs, last: e.timeMs, users: new Set() };
    s.failures += e.failures;
    s.last = e.timeMs;
    if (e.user) s.users.add(e.user);
    perSource.set(e.source, s);
  }
  const flagged = [...new Set(records.filter((r) => r.rule === 'ssh-bruteforce').map((r) => r.subject))];
  const report: SourceReport[] = flagged.map((source) => {
    const s = perSource.get(source)!;
    return {
      source,
      failures: s.failures,
      first: new Date(s.first).toISOString().slice(5, 19),
      last: new Date(s.last).toISOString().slice(5, 19),
      episodes: records.filter((r) => r.rule === 'ssh-bruteforce' && r.subject === source).length,
      users: s.users.size,
      loginAfter: records.some((r) => r.rule === 'ssh-bruteforce-success' && r.subject === source),
    };
  });
  report.sort((a, b) => b.failures - a.failures);
  const reference = referenceAttackers();
  const found = new Set(flagged);
  const truePositives = [...found].filter((s) => reference.has(s)).length;
  const byRule: Record<string, number> = {};
  for (const r of records) byRule[r.rule] = (byRule[r.rule] ?? 0) + 1;
  console.log(
    '## (a) Real sshd log (loghub2k OpenSSH, 2,000 lines) through `vigil detect-log --kind auth`\n',
  );
  table(report.map((r) => ({ ...r, loginAfter: r.loginAfter ? 'yes' : 'no' })));
  table(Object.entries(byRule).map(([rule, signals]) => ({ rule, signals })));
  const summary = {
    lines: 2000,
    signals: records.length,
    attackingSources: found.size,
    referenceAttackers: reference.size,
    truePositives,
    recall: reference.size ? truePositives / reference.size : 1,
    precision: found.size ? truePositives / found.size : 1,
    missed: [...reference.keys()].filter((s) => !found.has(s)),
    extra: [...found].filter((s) => !reference.has(s)),
    cliWallMs: Math.round(cliMs),
  };
  table([
    {
      attackers: summary.attackingSources,
      reference: summary.referenceAttackers,
      recall: summary.recall.toFixed(2),
      precision: summary.precision.toFixed(2),
      signals: summary.signals,
      'CLI wall ms (incl. Node start)': summary.cliWallMs,
    },
  ]);
  results['ssh'] = { summary, sources: report, signalsByRule: byRule };
}

// ---------- (b) audit corpus ----------
if (want('audit')) {
  const scores: RuleScore[] = evaluateAuditCorpus(rules, AUDIT_CORPUS_DIR);
  console.log('## (b) k8s_audit rules on the labelled audit corpus\n');
  table(
    scores.map((s) => ({
      rule: s.rule,
      falco: rules.rules.find((r) => r.id === s.rule)?.falco ?? '',
      positives: s.positives,
      negatives: s.negatives,
      hits: s.hits,
      misses: s.misses,
      falsePositives: s.falsePositives,
    })),
  );
  const totals = scores.reduce(
    (t, s) => ({
      positives: t.positives + s.positives,
      negatives: t.negatives + s.negatives,
      hits: t.hits + s.hits,
      misses: t.misses + s.misses,
      falsePositives: t.falsePositives + s.falsePositives,
    }),
    { positives: 0, negatives: 0, hits: 0, misses: 0, falsePositives: 0 },
  );
  table([{ rules: scores.length, ...totals }]);
  results['audit'] = {
    totals,
    rules: scores.map(({ missed, falselyFlagged, ...rest }) => ({ ...rest, missed, falselyFlagged })),
  };
}

// ---------- (b2) noise: benign background traffic, alone and with the corpus mixed in ----------
if (want('noise')) {
  const background = backgroundAuditLines(Date.parse('2026-11-20T08:30:00Z'), 120);
  const quiet = createAuditLogDetector(rules);
  const quietSignals = background.flatMap(({ line }) => quiet.processLine(line));
  const labels = JSON.parse(readFileSync(join(AUDIT_CORPUS_DIR, 'labels.json'), 'utf8')) as Record<
    string,
    string[]
  >;
  const corpus: Array<{ timeMs: number; line: string }> = [];
  for (const name of readdirSync(AUDIT_CORPUS_DIR).sort()) {
    if (!name.endsWith('.jsonl')) continue;
    for (const line of readFileSync(join(AUDIT_CORPUS_DIR, name), 'utf8').split('\n')) {
      if (line.trim())
        corpus.push({
          timeMs: Date.parse((JSON.parse(line) as { stageTimestamp: string }).stageTimestamp),
          line,
        });
    }
  }
  const mixed = [...background, ...corpus].sort((a, b) => a.timeMs - b.timeMs);
  const detector = createAuditLogDetector(rules);
  let hits = 0;
  let falsePositives = 0;
  const baselineFindings: string[] = [];
  const firedById = new Map<string, Set<string>>();
  for (const { line } of mixed) {
    const id = (JSON.parse(line) as { auditID: string }).auditID;
    for (const signal of detector.processLine(line)) {
      const rule = signal.evidence?.attributes?.['rule'] ?? '';
      if (rule === 'unusual-api-traffic') {
        baselineFindings.push(
          `${signal.subject.name}: ${signal.evidence?.attributes?.['reason']} (${signal.evidence?.attributes?.['verb']} ${signal.evidence?.attributes?.['object']})`,
        );
        continue;
      }
      const set = firedById.get(id) ?? new Set<string>();
      set.add(rule);
      firedById.set(id, set);
    }
  }
  let positives = 0;
  for (const [id, expected] of Object.entries(labels)) {
    positives += expected.length;
    for (const rule of expected) if (firedById.get(id)?.has(rule)) hits++;
  }
  for (const [id, fired] of firedById) {
    for (const rule of fired) if (!(labels[id] ?? []).includes(rule)) falsePositives++;
  }
  console.log(
    '## (b2) Noise: 2 h of benign audit traffic of a quiet 3-node cluster (rules + baseline, 1 h learning)\n',
  );
  table([
    {
      stream: 'background only',
      events: background.length,
      ruleSignals: quietSignals.filter((s) => s.evidence?.attributes?.['rule'] !== 'unusual-api-traffic')
        .length,
      baselineSignals: quietSignals.filter((s) => s.evidence?.attributes?.['rule'] === 'unusual-api-traffic')
        .length,
      positives: 0,
      hits: 0,
      falsePositives: quietSignals.length,
    },
    {
      stream: 'background + corpus',
      events: mixed.length,
      ruleSignals: [...firedById.values()].reduce((n, s) => n + s.size, 0),
      baselineSignals: baselineFindings.length,
      positives,
      hits,
      falsePositives,
    },
  ]);
  if (baselineFindings.length > 0) {
    console.log(
      'Baseline findings in the mixed stream (identities that learned from the background, then did corpus actions):',
    );
    for (const f of baselineFindings.slice(0, 12)) console.log(`  - ${f}`);
    console.log('');
  }
  results['noise'] = {
    backgroundEvents: background.length,
    backgroundSignals: quietSignals.length,
    mixedEvents: mixed.length,
    mixedPositives: positives,
    mixedHits: hits,
    mixedFalsePositives: falsePositives,
    baselineFindings,
  };
}

// ---------- (c) /proc scan cost ----------
function scanCost(hostRoot: string, scans: number) {
  let state: ReturnType<typeof scanProc>['state'] | undefined;
  const us: number[] = [];
  let processes = 0;
  let containers = 0;
  for (let i = 0; i < scans; i++) {
    const r = scanProc(hostRoot, state, { ruleSet: rules, k8sApiEndpoints: ['10.96.0.1:443'] });
    state = r.state;
    if (i > 0) us.push(r.stats.usPerProcess);
    processes = r.stats.processes;
    containers = r.stats.containerProcesses;
  }
  us.sort((a, b) => a - b);
  return {
    processes,
    containerProcesses: containers,
    scans,
    usPerProcessMedian: us[Math.floor(us.length / 2)] ?? 0,
    usPerProcessMin: us[0] ?? 0,
  };
}

if (want('proc')) {
  const real = scanCost('/', 11);
  const dir = mkdtempSync(join(tmpdir(), 'vigil-proc-bench-'));
  try {
    const fake: FakeProcess[] = [];
    for (let i = 0; i < 300; i++) {
      const pod = i % 30;
      fake.push({
        pid: 1000 + i,
        comm: i % 10 === 0 ? 'sh' : 'java',
        exe: '/usr/bin/java',
        cmdline: ['java', '-jar', '/app/app.jar', '--server.port=8080'],
        containerId: pod.toString(16).padStart(64, 'c'),
        netns: `pod-${pod}`,
        environ: { KUBERNETES_SERVICE_HOST: '10.96.0.1', KUBERNETES_SERVICE_PORT: '443', PATH: '/usr/bin' },
        upperDir: `/var/lib/containerd/snap/${pod}/fs`,
        sockets: Array.from({ length: 8 }, (_, k) => ({
          inode: 100_000 + i * 10 + k,
          local: ['10.244.0.9', 40000 + k] as [string, number],
          remote: ['10.0.0.7', 5432] as [string, number],
        })),
      });
    }
    mkdirSync(dir, { recursive: true });
    writeFakeProc(dir, fake);
    const synthetic = scanCost(dir, 11);
    console.log(
      `## (c) /proc scan cost (first scan excluded; shared machine, load average ${loadavg()[0]!.toFixed(1)})\n`,
    );
    table([
      { tree: 'real /proc (host processes)', ...fmt(real) },
      { tree: 'fake: 300 container procs, 8 sockets each', ...fmt(synthetic) },
    ]);
    results['proc'] = { real, syntheticContainers: synthetic, loadAvg1m: loadavg()[0] };
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

function fmt(c: ReturnType<typeof scanCost>) {
  return {
    processes: c.processes,
    containerProcesses: c.containerProcesses,
    'µs/process (median)': c.usPerProcessMedian.toFixed(0),
    'µs/process (best)': c.usPerProcessMin.toFixed(0),
    'ms/scan (median)': ((c.usPerProcessMedian * c.processes) / 1000).toFixed(1),
  };
}

// ---------- (d) throughput ----------
if (want('throughput')) {
  const sshLines = readFileSync(SSH_LOG, 'utf8').split('\n').filter(Boolean);
  const auditLines: string[] = [];
  for (const name of [
    'secret-get-successful',
    'create-privileged-pod',
    'attach-exec-pod',
    'disallowed-k8s-user',
  ]) {
    auditLines.push(
      ...readFileSync(join(AUDIT_CORPUS_DIR, `${name}.jsonl`), 'utf8')
        .split('\n')
        .filter(Boolean),
    );
  }
  const rounds = 50;
  let t = performance.now();
  const auth = createAuthLogDetector(rules, { nowMs: Date.parse(NOW) });
  for (let r = 0; r < rounds; r++) for (const l of sshLines) auth.processLine(l);
  const authPerSec = (rounds * sshLines.length) / ((performance.now() - t) / 1000);
  const auditRounds = 2000;
  t = performance.now();
  const audit = createAuditLogDetector(rules);
  for (let r = 0; r < auditRounds; r++) for (const l of auditLines) audit.processLine(l);
  const auditPerSec = (auditRounds * auditLines.length) / ((performance.now() - t) / 1000);
  console.log(`## (d) Throughput, one core (shared machine, load average ${loadavg()[0]!.toFixed(1)})\n`);
  table([
    { pipeline: `auth.log → parser → ${countRules('auth')} auth rules`, 'lines/s': Math.round(authPerSec) },
    {
      pipeline: `audit JSON → parser → ${countRules('k8s_audit')} rules + baseline`,
      'lines/s': Math.round(auditPerSec),
    },
  ]);
  results['throughput'] = {
    authLinesPerSec: Math.round(authPerSec),
    auditLinesPerSec: Math.round(auditPerSec),
  };
}

mkdirSync(join(root, 'bench/results'), { recursive: true });
const out = join(root, 'bench/results/security.json');
if (args.only === '') writeFileSync(out, `${JSON.stringify(results, null, 2)}\n`);
console.log(args.only === '' ? `wrote ${out}` : '(partial run: results JSON not written)');
