// Runs scanProc on an interval: the piece the agent starts for runtime checks. The rule set is read on each
// scan through a getter, so a RuleWatcher's hot-reloaded rules apply from the next scan. Scans never
// overlap, and a failing scan is reported and the next one still runs.

import type { Signal } from '../../../common/signal.ts';
import { type ProcScanOptions, type ProcScanState, type ProcScanStats, scanProc } from './proc-scan.ts';
import type { RuleSet } from './rule-types.ts';

export interface ProcScannerOptions extends Omit<ProcScanOptions, 'ruleSet' | 'nowMs'> {
  hostRoot: string;
  /** Default 5 s. Processes that live shorter than this are usually missed (docs/security-rules.md). */
  intervalMs?: number;
  rules: () => RuleSet;
  onSignals: (signals: Signal[], stats: ProcScanStats) => void;
  onError?: (error: Error) => void;
}

export interface ProcScanner {
  /** Runs one scan now (also what the timer does). */
  scanOnce(): ProcScanStats | undefined;
  stop(): void;
}

export function startProcScanner(options: ProcScannerOptions): ProcScanner {
  let state: ProcScanState | undefined;
  let running = false;
  const { hostRoot, intervalMs, rules, onSignals, onError, ...scanOptions } = options;
  const scanOnce = (): ProcScanStats | undefined => {
    if (running) return undefined;
    running = true;
    try {
      const result = scanProc(hostRoot, state, { ...scanOptions, ruleSet: rules() });
      state = result.state;
      onSignals(result.signals, result.stats);
      return result.stats;
    } catch (err) {
      onError?.(err as Error);
      return undefined;
    } finally {
      running = false;
    }
  };
  const timer = setInterval(scanOnce, intervalMs ?? 5000);
  timer.unref();
  return {
    scanOnce,
    stop: () => clearInterval(timer),
  };
}
