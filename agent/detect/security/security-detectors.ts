// One call for the agent: loads the shipped and user rules (and hot-reloads them), creates the auth.log and
// audit-log detectors for the log pipeline to feed, and starts the /proc scanner. Rule errors are logged
// with file, rule id and reason; the good rules run.

import type { Logger } from '../../../common/log.ts';
import type { Signal } from '../../../common/signal.ts';
import type { ApiBaselineOptions, ApiBaselineSnapshot } from './api-baseline.ts';
import { createAuditLogDetector, createAuthLogDetector, type SecurityLogDetector } from './log-detector.ts';
import type { PodRef } from './proc-scan.ts';
import { type ProcScanner, startProcScanner } from './proc-scanner.ts';
import { loadRuleSet, SHIPPED_RULES_DIR } from './rule-loader.ts';
import { formatRuleLoadError, type RuleSet } from './rule-types.ts';
import { type RuleWatcher, watchRules } from './rule-watch.ts';

export interface SecurityDetectorsOptions {
  node: string;
  /** Where the host's root is mounted (the DaemonSet uses /host); `<hostRoot>/proc` is scanned. */
  hostRoot: string;
  /** Extra rule files or directories, after the shipped rules. */
  rulePaths?: readonly string[];
  /** Re-validate and apply rule files when they change. Default true. */
  watch?: boolean;
  /** /proc scan interval; 0 switches the runtime checks off. Default 5 s. */
  procIntervalMs?: number;
  k8sApiEndpoints?: readonly string[];
  resolveContainer?: (containerId: string) => PodRef | undefined;
  baseline?: ApiBaselineOptions | false;
  restoreBaseline?: ApiBaselineSnapshot;
  /** Runtime-check signals (log signals are returned by `processLine`). */
  onSignals: (signals: Signal[]) => void;
  logger?: Logger;
}

export interface SecurityDetectors {
  /** Feed auth.log / secure lines. */
  readonly auth: SecurityLogDetector;
  /** Feed Kubernetes audit log lines. */
  readonly audit: SecurityLogDetector;
  readonly proc: ProcScanner | undefined;
  ruleSet(): RuleSet;
  close(): void;
}

export function startSecurityDetectors(options: SecurityDetectorsOptions): SecurityDetectors {
  const paths = [SHIPPED_RULES_DIR, ...(options.rulePaths ?? [])];
  const log = options.logger;
  const report = (set: RuleSet) => {
    for (const e of set.errors)
      log?.warn({ file: e.file, rule: e.ruleId, reason: e.reason }, formatRuleLoadError(e));
    log?.info({ rules: set.rules.length, rejected: set.errors.length }, 'security rules loaded');
  };
  let current: RuleSet;
  let watcher: RuleWatcher | undefined;
  const detectors: SecurityLogDetector[] = [];
  if (options.watch ?? true) {
    watcher = watchRules(
      paths,
      (set) => {
        current = set;
        report(set);
        for (const d of detectors) d.setRuleSet(set);
      },
      { onError: (err) => log?.warn({ err }, 'security rule watch failed') },
    );
    current = watcher.current();
  } else {
    current = loadRuleSet(paths);
  }
  report(current);
  const auth = createAuthLogDetector(current, { node: options.node });
  const audit = createAuditLogDetector(current, {
    node: options.node,
    ...(options.baseline !== undefined ? { baseline: options.baseline } : {}),
    ...(options.restoreBaseline !== undefined ? { restore: options.restoreBaseline } : {}),
  });
  detectors.push(auth, audit);
  const interval = options.procIntervalMs ?? 5000;
  const proc =
    interval > 0
      ? startProcScanner({
          hostRoot: options.hostRoot,
          intervalMs: interval,
          node: options.node,
          rules: () => current,
          onSignals: (signals) => {
            if (signals.length > 0) options.onSignals(signals);
          },
          onError: (err) => log?.warn({ err }, 'proc scan failed'),
          ...(options.k8sApiEndpoints ? { k8sApiEndpoints: options.k8sApiEndpoints } : {}),
          ...(options.resolveContainer ? { resolveContainer: options.resolveContainer } : {}),
        })
      : undefined;
  return {
    auth,
    audit,
    proc,
    ruleSet: () => current,
    close() {
      watcher?.close();
      proc?.stop();
    },
  };
}
