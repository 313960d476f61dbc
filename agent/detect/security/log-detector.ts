// Security detection over log lines: auth.log/secure lines through the `auth` rules, Kubernetes audit lines
// through the `k8s_audit` rules plus the API behaviour baseline. One detector per stream; rules can be
// swapped at run time (hot reload) without losing brute-force windows or learned baselines.

import { createReadStream } from 'node:fs';
import { createInterface } from 'node:readline';
import type { Signal } from '../../../common/signal.ts';
import { type ApiBaselineOptions, type ApiBaselineSnapshot, ApiBehaviourBaseline } from './api-baseline.ts';
import { type AuditParseStats, newAuditParseStats, parseAuditLine } from './audit-parser.ts';
import { AuthLogParser } from './auth-parser.ts';
import { RuleEngine } from './rule-engine.ts';
import type { RuleSet, RuleSourceKind } from './rule-types.ts';

export type SecurityLogKind = 'auth' | 'audit';

export interface LogDetectorStats {
  lines: number;
  events: number;
  signals: number;
  /** Lines that were not syslog (auth) or not valid audit JSON (audit), skipped. */
  skipped: number;
  audit?: AuditParseStats;
  evictedGroups: number;
}

export interface SecurityLogDetector {
  processLine(line: string): Signal[];
  setRuleSet(ruleSet: RuleSet): void;
  stats(): LogDetectorStats;
  /** Learned state worth persisting across restarts (the audit baseline); undefined when there is none. */
  snapshot(): ApiBaselineSnapshot | undefined;
}

export interface LogDetectorOptions {
  node?: string;
  /** Clock used to give year-less syslog timestamps a year. */
  nowMs?: number;
  maxGroups?: number;
  /** Options of the audit baseline, or false to switch it off. */
  baseline?: ApiBaselineOptions | false;
  /** A previous `snapshot()` to start from. */
  restore?: ApiBaselineSnapshot;
}

function rulesFor(ruleSet: RuleSet, source: RuleSourceKind) {
  return ruleSet.rules.filter((r) => r.source === source);
}

function engineOptions(options: LogDetectorOptions, dedupeField?: string) {
  return {
    ...(options.node !== undefined ? { node: options.node } : {}),
    ...(options.maxGroups !== undefined ? { maxGroups: options.maxGroups } : {}),
    ...(dedupeField !== undefined ? { dedupeField } : {}),
  };
}

export function createAuthLogDetector(
  ruleSet: RuleSet,
  options: LogDetectorOptions = {},
): SecurityLogDetector {
  const parser = new AuthLogParser(options.nowMs !== undefined ? { nowMs: options.nowMs } : {});
  const engine = new RuleEngine(rulesFor(ruleSet, 'auth'), engineOptions(options));
  let lines = 0;
  let events = 0;
  return {
    processLine(line) {
      lines++;
      const event = parser.parse(line);
      if (!event) return [];
      events++;
      return engine.process(event, event.timeMs, line);
    },
    setRuleSet(next) {
      engine.setRules(rulesFor(next, 'auth'));
    },
    stats: () => ({
      lines,
      events,
      signals: engine.stats.signals,
      skipped: parser.unparsed,
      evictedGroups: engine.stats.evictedGroups,
    }),
    snapshot: () => undefined,
  };
}

export function createAuditLogDetector(
  ruleSet: RuleSet,
  options: LogDetectorOptions = {},
): SecurityLogDetector {
  const engine = new RuleEngine(rulesFor(ruleSet, 'k8s_audit'), engineOptions(options, 'auditID'));
  const baseline =
    options.baseline === false
      ? undefined
      : new ApiBehaviourBaseline({
          ...(options.baseline ?? {}),
          ...(options.node !== undefined ? { node: options.node } : {}),
        });
  if (baseline && options.restore) baseline.restore(options.restore);
  const audit = newAuditParseStats();
  let baselineSignals = 0;
  return {
    processLine(line) {
      const out: Signal[] = [];
      for (const event of parseAuditLine(line, audit)) {
        out.push(...engine.process(event, event.derived.timeMs, line));
        if (baseline) {
          const found = baseline.observe(event);
          baselineSignals += found.length;
          out.push(...found);
        }
      }
      return out;
    },
    setRuleSet(next) {
      engine.setRules(rulesFor(next, 'k8s_audit'));
    },
    stats: () => ({
      lines: audit.lines,
      events: audit.events,
      signals: engine.stats.signals + baselineSignals,
      skipped: audit.malformed + audit.truncated + audit.notAudit + audit.oversized,
      audit: { ...audit },
      evictedGroups: engine.stats.evictedGroups,
    }),
    snapshot: () => baseline?.snapshot(),
  };
}

export function createSecurityLogDetector(
  kind: SecurityLogKind,
  ruleSet: RuleSet,
  options: LogDetectorOptions = {},
): SecurityLogDetector {
  return kind === 'auth' ? createAuthLogDetector(ruleSet, options) : createAuditLogDetector(ruleSet, options);
}

/** Runs a whole file through a detector; signals come back in time order (stable for equal times). */
export async function detectLogFile(
  kind: SecurityLogKind,
  file: string,
  ruleSet: RuleSet,
  options: LogDetectorOptions = {},
): Promise<{ signals: Signal[]; stats: LogDetectorStats }> {
  const detector = createSecurityLogDetector(kind, ruleSet, options);
  const signals: Signal[] = [];
  const rl = createInterface({ input: createReadStream(file, { encoding: 'utf8' }), crlfDelay: Infinity });
  for await (const line of rl) signals.push(...detector.processLine(line));
  signals.sort((a, b) => a.timeMs - b.timeMs);
  return { signals, stats: detector.stats() };
}
