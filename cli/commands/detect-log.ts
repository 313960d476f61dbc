// `vigil detect-log --kind auth|audit FILE`: runs the shipped security rules (plus any --rules files) over a
// log file and writes one JSON object per signal to stdout, in time order:
// {"rule","severity","time","subject","count","technique","explanation"}. Nothing else goes to stdout;
// rule-load problems and parse statistics go to stderr. Year-less syslog timestamps are read as UTC in the
// current year (the previous year if that would be in the future); --now sets "current".
import { access } from 'node:fs/promises';
import type { Command } from 'commander';
import { parseDurationMs } from '../../agent/detect/security/duration.ts';
import { detectLogFile, type SecurityLogKind } from '../../agent/detect/security/log-detector.ts';
import { loadRuleSet, SHIPPED_RULES_DIR } from '../../agent/detect/security/rule-loader.ts';
import { formatRuleLoadError } from '../../agent/detect/security/rule-types.ts';
import { toDetectLogRecord } from '../../agent/detect/security/signal-record.ts';

export interface DetectLogOptions {
  kind: string;
  file: string;
  rules?: string[];
  node?: string;
  now?: string;
  learn?: string;
}

interface TextSink {
  write(text: string): unknown;
}

export function register(program: Command): void {
  program
    .command('detect-log')
    .description(
      'run the security rules over an auth.log/secure or Kubernetes audit log (one JSON line per signal)',
    )
    .requiredOption('--kind <kind>', 'auth (syslog auth.log/secure) or audit (Kubernetes audit JSON lines)')
    .option('--rules <path...>', 'extra rule files or directories, loaded after the shipped rules')
    .option('--node <name>', 'node name to put on the signals')
    .option('--now <iso>', 'the current time for year-less syslog timestamps (default: now)')
    .option('--learn <duration>', 'audit baseline learning period per identity (default 1h)')
    .argument('<file>', 'log file')
    .action(async (file: string, options: Omit<DetectLogOptions, 'file'>) => {
      process.exitCode = await runDetectLog({ ...options, file }, process.stdout, process.stderr);
    });
}

/** The command body, with its sinks passed in so tests can run it in-process. Returns the exit code. */
export async function runDetectLog(options: DetectLogOptions, out: TextSink, err: TextSink): Promise<number> {
  if (options.kind !== 'auth' && options.kind !== 'audit') {
    err.write(`detect-log: --kind must be auth or audit, got '${options.kind}'\n`);
    return 2;
  }
  const nowMs = options.now === undefined ? Date.now() : Date.parse(options.now);
  if (Number.isNaN(nowMs)) {
    err.write(`detect-log: --now must be an ISO 8601 time, got '${options.now}'\n`);
    return 2;
  }
  const learningMs = options.learn === undefined ? undefined : parseDurationMs(options.learn);
  if (options.learn !== undefined && learningMs === undefined) {
    err.write(`detect-log: --learn must be a duration such as 30m or 1h, got '${options.learn}'\n`);
    return 2;
  }
  try {
    await access(options.file);
  } catch (e) {
    err.write(`detect-log: cannot read ${options.file}: ${(e as Error).message}\n`);
    return 2;
  }
  const ruleSet = loadRuleSet([SHIPPED_RULES_DIR, ...(options.rules ?? [])]);
  for (const problem of ruleSet.errors)
    err.write(`detect-log: rule rejected: ${formatRuleLoadError(problem)}\n`);
  const { signals, stats } = await detectLogFile(options.kind as SecurityLogKind, options.file, ruleSet, {
    nowMs,
    ...(options.node !== undefined ? { node: options.node } : {}),
    ...(learningMs !== undefined ? { baseline: { learningMs } } : {}),
  });
  let buffer = '';
  for (const signal of signals) buffer += `${JSON.stringify(toDetectLogRecord(signal))}\n`;
  out.write(buffer);
  const a = stats.audit;
  const why = a
    ? ` (${a.malformed} malformed, ${a.truncated} truncated, ${a.notAudit} not audit events, ${a.oversized} oversized)`
    : '';
  err.write(
    `detect-log: ${stats.lines} lines, ${stats.events} events, ${stats.skipped} skipped${why}, ${signals.length} signals\n`,
  );
  return 0;
}
