// Signal builders for the incident tests: the shapes the agents' detectors emit.
import type { Severity, Signal, Subject } from '../../../common/signal.ts';

export const T0 = Date.parse('2026-11-27T00:00:00Z');

export function signal(
  kind: string,
  subject: Subject,
  atSeconds: number,
  extra: Partial<Signal> & { lines?: string[] } = {},
): Signal {
  const { lines, ...rest } = extra;
  const s: Signal = {
    kind,
    subject,
    timeMs: T0 + atSeconds * 1000,
    severity: 'warning' as Severity,
    score: 0.6,
    explanation: `${kind} on ${subject.pod ?? subject.node ?? subject.name ?? '?'}`,
    ...rest,
  };
  if (lines) s.evidence = { ...(s.evidence ?? {}), lines };
  return s;
}

export function podSubject(namespace: string, pod: string, node: string, workload?: string): Subject {
  const s: Subject = { kind: 'pod', namespace, pod, node };
  if (workload) s.workload = workload;
  return s;
}
