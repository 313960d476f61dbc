// What the mining worker reports of one batch of a stream (per template, what a window needs), and how it
// crosses to the main thread: in columns (one array of ids, one of texts, one Int32Array of numbers, one flat
// array of exemplars) rather than an object per template. The structured clone of a few arrays is several
// times cheaper than that of many small objects, on both sides.
import type { LogLevel } from './levels.ts';

/** One template's share of a batch, as a window accumulates it. */
export interface SummaryTemplate {
  id: string;
  /** Text at the end of the batch. */
  template: string;
  /** Created by a line of this batch. */
  isNew: boolean;
  count: number;
  /** Worst level among its lines in this batch. */
  level: LogLevel;
  errorCount: number;
  /** Its first lines (clipped), only while the window has fewer than EVIDENCE_MAX_LINES of it. */
  exemplars: string[];
}

export interface BatchSummary {
  stream: string;
  lines: number;
  errorLines: number;
  /** First error lines (clipped), only while the window has fewer than EVIDENCE_MAX_LINES. */
  errorExemplars: string[];
  /** Every template this batch touched, once (merged ids resolved at the end of the batch). */
  templates: SummaryTemplate[];
  /** Lines of this batch that hit the template cap. */
  overflow: number;
  /** The miner's `changes` after this batch (see TemplateMiner.changes): unchanged → no need to re-snapshot. */
  changes: number;
}

const LEVELS: readonly LogLevel[] = ['info', 'warning', 'error', 'critical'];
const NEW_FLAG = 4;
/** Numbers per template: count, error count, flags (level index | NEW_FLAG), exemplars. */
const STRIDE = 4;

export interface PackedSummary {
  stream: string;
  lines: number;
  errorLines: number;
  errorExemplars: string[];
  overflow: number;
  changes: number;
  ids: string[];
  texts: string[];
  numbers: Int32Array;
  /** Every template's exemplars, in template order (their counts are in `numbers`). */
  exemplars: string[];
}

export function packSummary(s: BatchSummary): PackedSummary {
  const n = s.templates.length;
  const ids: string[] = new Array(n);
  const texts: string[] = new Array(n);
  const numbers = new Int32Array(n * STRIDE);
  const exemplars: string[] = [];
  for (let i = 0; i < n; i++) {
    const t = s.templates[i]!;
    ids[i] = t.id;
    texts[i] = t.template;
    const at = i * STRIDE;
    numbers[at] = t.count;
    numbers[at + 1] = t.errorCount;
    numbers[at + 2] = LEVELS.indexOf(t.level) | (t.isNew ? NEW_FLAG : 0);
    numbers[at + 3] = t.exemplars.length;
    for (const e of t.exemplars) exemplars.push(e);
  }
  return {
    stream: s.stream,
    lines: s.lines,
    errorLines: s.errorLines,
    errorExemplars: s.errorExemplars,
    overflow: s.overflow,
    changes: s.changes,
    ids,
    texts,
    numbers,
    exemplars,
  };
}

export function unpackSummary(p: PackedSummary): BatchSummary {
  const templates: SummaryTemplate[] = new Array(p.ids.length);
  let e = 0;
  for (let i = 0; i < p.ids.length; i++) {
    const at = i * STRIDE;
    const flags = p.numbers[at + 2]!;
    const k = p.numbers[at + 3]!;
    templates[i] = {
      id: p.ids[i]!,
      template: p.texts[i]!,
      isNew: (flags & NEW_FLAG) !== 0,
      count: p.numbers[at]!,
      level: LEVELS[flags & 3]!,
      errorCount: p.numbers[at + 1]!,
      exemplars: p.exemplars.slice(e, e + k),
    };
    e += k;
  }
  return {
    stream: p.stream,
    lines: p.lines,
    errorLines: p.errorLines,
    errorExemplars: p.errorExemplars,
    templates,
    overflow: p.overflow,
    changes: p.changes,
  };
}
