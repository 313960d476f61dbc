// The audit trail: every remediation decision, including the ones a guardrail blocked, a mode switched
// off, or an approval timeout ended. Bounded in memory; optionally appended as JSON lines to a file so it
// outlives the process.
import { appendFileSync } from 'node:fs';

export interface AuditEntry {
  seq: number;
  timeMs: number;
  incidentId: string;
  actionId: string;
  type: string;
  target: string;
  /** `proposed`, `executed`, `succeeded`, `failed`, `blocked`, `dry-run`, `skipped`, `approved`, `rejected`, `expired`, `verified`, `escalated`. */
  decision: string;
  /** The guardrail that blocked, when one did. */
  guardrail?: string;
  reason: string;
  actor: string;
}

export interface AuditQuery {
  incidentId?: string;
  actionId?: string;
  decision?: string;
  sinceMs?: number;
  limit?: number;
}

export class AuditTrail {
  readonly #entries: AuditEntry[] = [];
  readonly #max: number;
  readonly #file: string | undefined;
  #seq = 0;

  constructor(options: { max?: number; file?: string } = {}) {
    this.#max = options.max ?? 10_000;
    this.#file = options.file;
  }

  add(entry: Omit<AuditEntry, 'seq'>): AuditEntry {
    this.#seq += 1;
    const full: AuditEntry = { seq: this.#seq, ...entry };
    this.#entries.push(full);
    if (this.#entries.length > this.#max) this.#entries.splice(0, this.#entries.length - this.#max);
    if (this.#file) appendFileSync(this.#file, `${JSON.stringify(full)}\n`);
    return full;
  }

  /** Oldest first; `limit` keeps the newest. */
  query(q: AuditQuery = {}): AuditEntry[] {
    const out = this.#entries.filter(
      (e) =>
        (q.incidentId === undefined || e.incidentId === q.incidentId) &&
        (q.actionId === undefined || e.actionId === q.actionId) &&
        (q.decision === undefined || e.decision === q.decision) &&
        (q.sinceMs === undefined || e.timeMs >= q.sinceMs),
    );
    return q.limit ? out.slice(-q.limit) : out;
  }
}
