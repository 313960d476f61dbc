// The incident model: what the correlator builds from signals and what the API, notifier and remediation
// planner read. Plain objects, so they serialise to JSON and to the wire without ceremony.
import type { Severity, Signal, Subject } from '../../common/signal.ts';

export type IncidentStatus = 'open' | 'acknowledged' | 'mitigating' | 'resolved';

/** Repeated signals of one kind about one subject, folded into a count (dedupe). */
export interface SignalGroup {
  /** `kind|subject key`. */
  key: string;
  kind: string;
  subject: Subject;
  count: number;
  firstMs: number;
  lastMs: number;
  severity: Severity;
  /** Highest score seen. */
  score: number;
  explanation: string;
  /** The first signal of the group, kept whole as evidence (already capped by the emitter). */
  exemplar: Signal;
  /** Services this group's evidence names (`ns/name`), e.g. from `connection refused to db:5432`. */
  calls: string[];
}

/** A ranked root-cause hypothesis. `object` is `Pod/ns/name`, `Deployment/ns/name`, `Node//name`, `Service/ns/name` or `Source//ip`. */
export interface RootCauseCandidate {
  /** Fault-like kind, e.g. `oom_kill`, `bad_rollout`, `dependency_down`, `node_not_ready`. */
  kind: string;
  object: string;
  /** 0..1 after normalisation over the incident's candidates. */
  score: number;
  /** Why it ranks where it does, one short sentence each. */
  reasons: string[];
  /** Earliest signal time attributed to this object. */
  firstMs: number;
}

export interface TimelineEntry {
  timeMs: number;
  /** `opened`, `signal`, `merged`, `status`, `root-cause`, `action`, `verified`, `escalated`. */
  type: string;
  text: string;
}

export interface Incident {
  id: string;
  status: IncidentStatus;
  title: string;
  severity: Severity;
  openedMs: number;
  updatedMs: number;
  /** Time of the latest signal attributed to it (drives auto-resolution). */
  lastSignalMs: number;
  /** Time of the first signal (onset). */
  firstSignalMs: number;
  resolvedMs?: number;
  /** `auto` when it resolved because its signals went quiet, else who resolved it. */
  resolvedBy?: string;
  acknowledgedBy?: string;
  /** Raw signals attributed to it (before dedupe). */
  signalCount: number;
  groups: SignalGroup[];
  nodes: string[];
  namespaces: string[];
  rootCauses: RootCauseCandidate[];
  timeline: TimelineEntry[];
  /** Ids of remediation actions proposed for it. */
  actions: string[];
  /** Increases on every change; watchers and notifiers use it to skip what they have already seen. */
  version: number;
}

export const TIMELINE_MAX = 200;

export function addTimeline(incident: Incident, entry: TimelineEntry): void {
  incident.timeline.push(entry);
  // Keep the opening entries and the latest ones: the middle of a long storm is the least useful part.
  if (incident.timeline.length > TIMELINE_MAX) incident.timeline.splice(20, 1);
}
