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
  /** First lines of the window for this template (≤ EVIDENCE_MAX_LINES, each ≤ EVIDENCE_MAX_LINE_CHARS). */
  exemplars: string[];
}

export interface StreamWindow {
  subject: Subject;
  startMs: number;
  endMs: number;
  lines: number;
  errorLines: number;
  /** First error lines of the window (capped like exemplars). */
  errorExemplars: string[];
  templates: WindowTemplate[];
}

function clip(line: string): string {
  return line.length > EVIDENCE_MAX_LINE_CHARS ? `${line.slice(0, EVIDENCE_MAX_LINE_CHARS)}…` : line;
}

/** Builds one `StreamWindow` from the lines of one stream and their mining results. */
export class WindowAccumulator {
  private readonly subject: Subject;
  private readonly startMs: number;
  private readonly byId = new Map<string, WindowTemplate>();
  private lines = 0;
  private errorLines = 0;
  private readonly errorExemplars: string[] = [];

  constructor(subject: Subject, startMs: number) {
    this.subject = subject;
    this.startMs = startMs;
  }

  add(line: string, templateId: string, template: string, isNew: boolean): void {
    this.lines++;
    const level = levelOf(line);
    const isError = isErrorLevel(level);
    if (isError) {
      this.errorLines++;
      if (this.errorExemplars.length < EVIDENCE_MAX_LINES) this.errorExemplars.push(clip(line));
    }
    let t = this.byId.get(templateId);
    if (!t) {
      t = { id: templateId, template, count: 0, isNew, level, errorCount: 0, exemplars: [] };
      this.byId.set(templateId, t);
    }
    t.count++;
    t.template = template;
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
    for (const e of batch.errorExemplars) {
      if (this.errorExemplars.length < EVIDENCE_MAX_LINES) this.errorExemplars.push(e);
    }
    for (const b of batch.templates) {
      let t = this.byId.get(b.id);
      if (!t) {
        t = {
          id: b.id,
          template: b.template,
          count: 0,
          isNew: b.isNew,
          level: b.level,
          errorCount: 0,
          exemplars: [],
        };
        this.byId.set(b.id, t);
      }
      t.count += b.count;
      t.template = b.template;
      if (b.isNew) t.isNew = true;
      if (levelRank(b.level) > levelRank(t.level)) t.level = b.level;
      t.errorCount += b.errorCount;
      for (const e of b.exemplars) if (t.exemplars.length < EVIDENCE_MAX_LINES) t.exemplars.push(e);
    }
  }

  close(endMs: number): StreamWindow {
    return {
      subject: this.subject,
      startMs: this.startMs,
      endMs,
      lines: this.lines,
      errorLines: this.errorLines,
      errorExemplars: this.errorExemplars,
      templates: [...this.byId.values()],
    };
  }
}
