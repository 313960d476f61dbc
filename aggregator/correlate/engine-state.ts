// What the incident engine keeps across an aggregator restart, and the storage boundary it writes through.
// The engine composes the correlator's and the planner's snapshots into these records; a store
// (aggregator/store/incident-store.ts, LMDB) only reads and writes them.
import type { RemediationAction } from '../remediate/action.ts';
import type { GuardrailSnapshot } from '../remediate/guardrails.ts';
import type { StoredPlan } from '../remediate/planner.ts';
import type { StoredIncident } from './correlator.ts';

/** The remediation state of one incident: its plan (if a rule matched) and its actions. */
export interface StoredRemediation {
  incidentId: string;
  plan?: StoredPlan;
  actions: RemediationAction[];
}

/** Engine-wide state: id sequences and guardrails (cooldowns, rate limit, per-incident counts). */
export interface StoredEngineMeta {
  /** Wall-clock time of the write: the next start measures the downtime from it. */
  savedAtMs: number;
  incidentSeq: number;
  actionSeq: number;
  guardrails: GuardrailSnapshot;
  /** Per node, the highest summary sequence whose signals this state includes (replay starts after it). */
  summaryPositions?: Array<[string, number]>;
}

export interface StoredEngineState {
  meta?: StoredEngineMeta;
  incidents: StoredIncident[];
  remediation: StoredRemediation[];
}

/** One flush: the incidents that changed (whole records), those that are gone, and the engine-wide state. */
export interface EngineStateWrite {
  meta: StoredEngineMeta;
  incidents: StoredIncident[];
  remediation: StoredRemediation[];
  /** Incidents dropped from memory (resolved long ago): their records and remediation go too. */
  removed: string[];
}

export interface EngineStateStore {
  /** Everything stored; unreadable records are logged with their key and left out. */
  load(): StoredEngineState;
  /** Writes one flush in one transaction; resolves once committed. */
  save(write: EngineStateWrite): Promise<void>;
}
