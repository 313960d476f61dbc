// The one signal model every detector emits (DESIGN.md "One signal model"). Detectors build these plain
// objects; the summarizer turns them into the wire `vigil.v1.Signal` (proto/vigil/v1/signal.proto) in one
// place, so detector code never touches protobuf.

export type SubjectKind =
  | 'node'
  | 'pod'
  | 'container'
  | 'workload'
  | 'service'
  | 'source'
  | 'user'
  | 'object';

export type Severity = 'info' | 'warning' | 'error' | 'critical';

export const SEVERITIES: readonly Severity[] = ['info', 'warning', 'error', 'critical'];

/** What a signal is about. Only the fields that apply are set. */
export interface Subject {
  kind: SubjectKind;
  node?: string;
  namespace?: string;
  pod?: string;
  container?: string;
  /** Owning workload as `Kind/name`, e.g. `Deployment/payments`. */
  workload?: string;
  service?: string;
  /** For kinds without their own field: a source IP, a user name, a Kubernetes object `kind/ns/name`. */
  name?: string;
}

export interface Evidence {
  /** Exemplar log lines, capped by `capEvidence`. */
  lines?: string[];
  /** Metric values that back the signal, e.g. `{ value: 812e6, baseline: 400e6, sigma: 5.2 }`. */
  values?: Record<string, number>;
  attributes?: Record<string, string>;
}

export interface Signal {
  /** Dotted kind, e.g. `pod.oom_killed`, `log.new_template`, `metric.level_shift`, `security.ssh_bruteforce`. */
  kind: string;
  subject: Subject;
  /** Event time, Unix milliseconds. */
  timeMs: number;
  severity: Severity;
  /** 0..1, how anomalous / how sure. */
  score: number;
  /** One human line: what happened and why it matters. */
  explanation: string;
  evidence?: Evidence;
  /** MITRE ATT&CK technique id for security signals, e.g. `T1110`. */
  technique?: string;
  /** Detector that emitted it, e.g. `logs.miner`, `metrics.detector`, `security.auth`. */
  source?: string;
}

export const EVIDENCE_MAX_LINES = 5;
export const EVIDENCE_MAX_LINE_CHARS = 512;

/** Caps evidence so one signal can never carry an unbounded payload. */
export function capEvidence(evidence: Evidence): Evidence {
  const capped: Evidence = { ...evidence };
  if (evidence.lines) {
    capped.lines = evidence.lines
      .slice(0, EVIDENCE_MAX_LINES)
      .map((l) => (l.length > EVIDENCE_MAX_LINE_CHARS ? `${l.slice(0, EVIDENCE_MAX_LINE_CHARS)}…` : l));
  }
  return capped;
}
