// The audit trail: every remediation decision, including the ones a guardrail blocked, a mode switched
// off, or an approval timeout ended. Bounded in memory; optionally appended as JSON lines to a file so it
// outlives the process, and read back from that file's tail on start so `ListAudit` still shows what
// happened before a restart.
import { appendFileSync, closeSync, existsSync, fstatSync, openSync, readSync } from 'node:fs';

export interface AuditEntry {
  seq: number;
  timeMs: number;
  incidentId: string;
  actionId: string;
  type: string;
  target: string;
  /** `proposed`, `executed`, `succeeded`, `failed`, `blocked`, `dry-run`, `skipped`, `approved`, `rejected`, `expired`, `verified`, `escalated`, `interrupted`. */
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
    if (this.#file && existsSync(this.#file)) {
      const tail = readTail(this.#file, TAIL_BYTES).slice(-this.#max);
      this.#entries.push(...tail);
      this.#seq = tail.reduce((m, e) => Math.max(m, e.seq), 0);
    }
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

/** How much of the file's end is read back on start: enough for the in-memory window of recent entries. */
const TAIL_BYTES = 8 * 1024 * 1024;

/** The entries in the last `maxBytes` of a JSON-lines audit file; a torn or foreign line is skipped. */
function readTail(file: string, maxBytes: number): AuditEntry[] {
  const fd = openSync(file, 'r');
  let text: string;
  let partialFirst: boolean;
  try {
    const size = fstatSync(fd).size;
    const start = Math.max(0, size - maxBytes);
    const buf = Buffer.alloc(size - start);
    readSync(fd, buf, 0, buf.length, start);
    text = buf.toString('utf8');
    partialFirst = start > 0;
  } finally {
    closeSync(fd);
  }
  const lines = text.split('\n');
  if (partialFirst) lines.shift();
  const out: AuditEntry[] = [];
  for (const line of lines) {
    if (!line) continue;
    try {
      const e = JSON.parse(line) as AuditEntry;
      if (typeof e.seq === 'number' && typeof e.decision === 'string') out.push(e);
    } catch {
      // A line torn by a crash mid-append: the rest of the file is still good.
    }
  }
  return out;
}
