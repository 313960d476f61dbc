// Per-stream, per-window log summary: line and error counts and, per template, its count, whether it is new
// and a few exemplar lines. This is what the log signals look at and what the summarizer ships (counts by
// template id, exemplars) instead of the raw stream.
import { EVIDENCE_MAX_LINE_CHARS, EVIDENCE_MAX_LINES, type Subject } from '../../../common/signal.ts';
import type { BatchSummary } from './batch-summary.ts';
import { isErrorLevel, type LogLevel, levelOf, levelRank } from './levels.ts';

export interface WindowTemplate {
  id: string;
  template: string;
  count: number;
  /** Created during this window. */
  isNew: boolean;
  /** Worst level word among its lines. */
  level: LogLevel;
  errorCount: number;
  /**
   * First lines of the window for this template (≤ EVIDENCE_MAX_LINES, each ≤ EVIDENCE_MAX_LINE_CHARS). From the
   * mining worker's summaries only the first: the worker keeps the others for the signals that cite them.
   */
  exemplars: string[];
}

export interface StreamWindow {
  subject: Subject;
  startMs: number;
  endMs: number;
  lines: number;
  errorLines: number;
  /** First error lines of the window (capped like exemplars; from the worker's summaries only the first). */
  errorExemplars: string[];
  templates: WindowTemplate[];
}

function clip(line: string): string {
  return line.length > EVIDENCE_MAX_LINE_CHARS ? `${line.slice(0, EVIDENCE_MAX_LINE_CHARS)}…` : line;
}

/**
 * Builds a stream's `StreamWindow`s, one window after the other (`next`). It lives as long as its stream: the
 * per-template entries of templates the stream keeps using are reused from window to window instead of being
 * allocated again. At a thousand trickling streams, objects made per window lived the whole window, so they
 * outlived the young generation and were collected by full GCs (main thread and GC helper threads).
 */
export class WindowAccumulator {
  subject: Subject;
  private startMs: number;
  /** The templates of this window and of the one before (entries unused for a whole window are dropped). */
  private readonly byId = new Map<string, WindowTemplate>();
  private lines = 0;
  private errorLines = 0;
  private errorExemplars: string[] = [];

  constructor(subject: Subject, startMs: number) {
    this.subject = subject;
    this.startMs = startMs;
  }

  /** This window's entry for the template (count 0 when it was not counted yet in this window). */
  private entry(id: string, template: string, level: LogLevel): WindowTemplate {
    let t = this.byId.get(id);
    if (t === undefined) {
      t = { id, template, count: 0, isNew: false, level, errorCount: 0, exemplars: [] };
      this.byId.set(id, t);
    } else if (t.count === 0) t.level = level;
    return t;
  }

  add(line: string, templateId: string, template: string, isNew: boolean): void {
    this.lines++;
    const level = levelOf(line);
    const isError = isErrorLevel(level);
    if (isError) {
      this.errorLines++;
      if (this.errorExemplars.length < EVIDENCE_MAX_LINES) this.errorExemplars.push(clip(line));
    }
    const t = this.entry(templateId, template, level);
    t.count++;
    if (t.template !== template) t.template = template;
    if (isNew) t.isNew = true;
    if (levelRank(level) > levelRank(t.level)) t.level = level;
    if (isError) t.errorCount++;
    if (t.exemplars.length < EVIDENCE_MAX_LINES) t.exemplars.push(clip(line));
  }

  /**
   * Adds a batch the mining worker summarized (`LogMiningPool.summarize`): the same result as `add` per line,
   * except that a line's level comes from its template (see template-levels.ts).
   */
  addBatch(batch: BatchSummary): void {
    this.lines += batch.lines;
    this.errorLines += batch.errorLines;
    // Indexed loops: this runs for every stream of every poll, and a for-of allocates an iterator (and a result
    // per element) until V8 optimizes it, which for code run once per window per stream takes minutes.
    const errors = batch.errorExemplars;
    for (let k = 0; k < errors.length; k++) {
      if (this.errorExemplars.length === 0) this.errorExemplars = [errors[k]!];
      else if (this.errorExemplars.length < EVIDENCE_MAX_LINES) this.errorExemplars.push(errors[k]!);
    }
    const templates = batch.templates;
    for (let j = 0; j < templates.length; j++) {
      const b = templates[j]!;
      const t = this.entry(b.id, b.template, b.level);
      t.count += b.count;
      // The text crosses from the worker with every batch: keep the string the entry holds when it is the same,
      // so that a window's copy dies young instead of outliving the window with the entry.
      if (t.template !== b.template) t.template = b.template;
      if (b.isNew) t.isNew = true;
      if (levelRank(b.level) > levelRank(t.level)) t.level = b.level;
      t.errorCount += b.errorCount;
      for (let k = 0; k < b.exemplars.length; k++) {
        // A window's first line gets a literal of its own: a push to the empty array would reserve 17 slots,
        // for each template of each stream at every window (batches from the worker bring one line each).
        if (t.exemplars.length === 0) t.exemplars = [b.exemplars[k]!];
        else if (t.exemplars.length < EVIDENCE_MAX_LINES) t.exemplars.push(b.exemplars[k]!);
      }
    }
  }

  /** The window so far, ending at `endMs`. Its templates are valid until `next()` (they are reused). */
  close(endMs: number): StreamWindow {
    const templates: WindowTemplate[] = [];
    for (const t of this.byId.values()) if (t.count > 0) templates.push(t);
    return {
      subject: this.subject,
      startMs: this.startMs,
      endMs,
      lines: this.lines,
      errorLines: this.errorLines,
      errorExemplars: this.errorExemplars,
      templates,
    };
  }

  /** Starts the next window at `startMs`. */
  next(startMs: number): void {
    this.startMs = startMs;
    this.lines = 0;
    this.errorLines = 0;
    if (this.errorExemplars.length > 0) this.errorExemplars = [];
    for (const [id, t] of this.byId) {
      if (t.count === 0) {
        this.byId.delete(id);
        continue;
      }
      t.count = 0;
      t.isNew = false;
      t.errorCount = 0;
      if (t.exemplars.length > 0) t.exemplars = [];
    }
  }
}
