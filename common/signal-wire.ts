// The one place where the plain signal model (common/signal.ts) meets its wire form (vigil.v1.Signal).
import { create } from '@bufbuild/protobuf';
import {
  SignalSchema,
  SubjectSchema,
  Severity as WireSeverity,
  type Signal as WireSignal,
  type Subject as WireSubject,
  SubjectKind as WireSubjectKind,
} from '../proto/gen/vigil/v1/signal_pb.js';
import { capEvidence, type Severity, type Signal, type Subject, type SubjectKind } from './signal.ts';

const KIND_TO_WIRE: Record<SubjectKind, WireSubjectKind> = {
  node: WireSubjectKind.NODE,
  pod: WireSubjectKind.POD,
  container: WireSubjectKind.CONTAINER,
  workload: WireSubjectKind.WORKLOAD,
  service: WireSubjectKind.SERVICE,
  source: WireSubjectKind.SOURCE,
  user: WireSubjectKind.USER,
  object: WireSubjectKind.OBJECT,
};
const WIRE_TO_KIND = new Map(Object.entries(KIND_TO_WIRE).map(([k, v]) => [v, k as SubjectKind]));

const SEVERITY_TO_WIRE: Record<Severity, WireSeverity> = {
  info: WireSeverity.INFO,
  warning: WireSeverity.WARNING,
  error: WireSeverity.ERROR,
  critical: WireSeverity.CRITICAL,
};
const WIRE_TO_SEVERITY = new Map(Object.entries(SEVERITY_TO_WIRE).map(([k, v]) => [v, k as Severity]));

export function subjectToWire(s: Subject): WireSubject {
  return create(SubjectSchema, {
    kind: KIND_TO_WIRE[s.kind],
    node: s.node ?? '',
    namespace: s.namespace ?? '',
    pod: s.pod ?? '',
    container: s.container ?? '',
    workload: s.workload ?? '',
    service: s.service ?? '',
    name: s.name ?? '',
  });
}

export function subjectFromWire(w: WireSubject | undefined): Subject {
  const s: Subject = { kind: (w && WIRE_TO_KIND.get(w.kind)) ?? 'node' };
  if (!w) return s;
  for (const key of ['node', 'namespace', 'pod', 'container', 'workload', 'service', 'name'] as const) {
    if (w[key]) s[key] = w[key];
  }
  return s;
}

export function signalToWire(signal: Signal): WireSignal {
  const evidence = capEvidence(signal.evidence ?? {});
  return create(SignalSchema, {
    kind: signal.kind,
    subject: subjectToWire(signal.subject),
    timeMs: BigInt(Math.round(signal.timeMs)),
    severity: SEVERITY_TO_WIRE[signal.severity],
    score: signal.score,
    explanation: signal.explanation,
    evidence: {
      lines: evidence.lines ?? [],
      values: evidence.values ?? {},
      attributes: evidence.attributes ?? {},
    },
    technique: signal.technique ?? '',
    source: signal.source ?? '',
  });
}

export function signalFromWire(w: WireSignal): Signal {
  const signal: Signal = {
    kind: w.kind,
    subject: subjectFromWire(w.subject),
    timeMs: Number(w.timeMs),
    severity: WIRE_TO_SEVERITY.get(w.severity) ?? 'info',
    score: w.score,
    explanation: w.explanation,
  };
  if (w.evidence) {
    signal.evidence = {
      lines: w.evidence.lines,
      values: w.evidence.values,
      attributes: w.evidence.attributes,
    };
  }
  if (w.technique) signal.technique = w.technique;
  if (w.source) signal.source = w.source;
  return signal;
}
