// What the mining worker reports of one batch of a stream (per template, what a window needs), and how the
// summaries of one worker message cross to the main thread: in columns (one array of ids, one of texts, one
// Int32Array of numbers, one flat array of exemplars, for all its streams) rather than objects per template
// or per stream. The structured clone of a few arrays is several times cheaper than that of many small
// objects, on both sides.
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
  /** Its first line of the window (clipped), in the batch that brings it; the worker keeps the window's others. */
  exemplars: string[];
}

export interface BatchSummary {
  stream: string;
  lines: number;
  errorLines: number;
  /** The window's first error line (clipped), in the batch that brings it; the worker keeps the others. */
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

/** Numbers per summary: lines, error lines, overflow, changes, templates, error exemplars. */
const HEAD = 6;

/**
 * The summaries of one worker message (a poll's batches of many streams), all in the same columns: with a
 * thousand trickling streams an object and a typed array per stream cost a thousand ArrayBuffers and object
 * graphs to clone, allocate and collect on both sides at every window close.
 */
export interface PackedSummaries {
  streams: string[];
  /** HEAD numbers per summary (Float64: `changes` only grows). */
  heads: Float64Array;
  /** Every summary's templates, in summary order. */
  ids: string[];
  texts: string[];
  numbers: Int32Array;
  /** Every template's exemplars, in template order (their counts are in `numbers`). */
  exemplars: string[];
  /** Every summary's error exemplars, in summary order (their counts are in `heads`). */
  errorExemplars: string[];
}

export function packSummaries(all: readonly BatchSummary[]): PackedSummaries {
  let templateCount = 0;
  for (const s of all) templateCount += s.templates.length;
  const heads = new Float64Array(all.length * HEAD);
  const ids: string[] = new Array(templateCount);
  const texts: string[] = new Array(templateCount);
  const numbers = new Int32Array(templateCount * STRIDE);
  const exemplars: string[] = [];
  const errorExemplars: string[] = [];
  let i = 0;
  all.forEach((s, k) => {
    const h = k * HEAD;
    heads[h] = s.lines;
    heads[h + 1] = s.errorLines;
    heads[h + 2] = s.overflow;
    heads[h + 3] = s.changes;
    heads[h + 4] = s.templates.length;
    heads[h + 5] = s.errorExemplars.length;
    for (const e of s.errorExemplars) errorExemplars.push(e);
    for (const t of s.templates) {
      ids[i] = t.id;
      texts[i] = t.template;
      const at = i * STRIDE;
      numbers[at] = t.count;
      numbers[at + 1] = t.errorCount;
      numbers[at + 2] = LEVELS.indexOf(t.level) | (t.isNew ? NEW_FLAG : 0);
      numbers[at + 3] = t.exemplars.length;
      for (const e of t.exemplars) exemplars.push(e);
      i++;
    }
  });
  return { streams: all.map((s) => s.stream), heads, ids, texts, numbers, exemplars, errorExemplars };
}

/**
 * Each summary in turn, made as it is visited: a caller that is done with one before the next (the log
 * pipeline adds it to its stream's window) never holds a thousand at once, so a scavenge in the middle finds
 * one alive instead of copying them all.
 */
export function forEachSummary(p: PackedSummaries, visit: (summary: BatchSummary, k: number) => void): void {
  let i = 0;
  let e = 0;
  let ee = 0;
  for (let k = 0; k < p.streams.length; k++) {
    const h = k * HEAD;
    const n = p.heads[h + 4]!;
    const templates: SummaryTemplate[] = new Array(n);
    for (let j = 0; j < n; j++, i++) {
      const at = i * STRIDE;
      const flags = p.numbers[at + 2]!;
      const count = p.numbers[at + 3]!;
      templates[j] = {
        id: p.ids[i]!,
        template: p.texts[i]!,
        isNew: (flags & NEW_FLAG) !== 0,
        count: p.numbers[at]!,
        level: LEVELS[flags & 3]!,
        errorCount: p.numbers[at + 1]!,
        exemplars: p.exemplars.slice(e, e + count),
      };
      e += count;
    }
    const errors = p.heads[h + 5]!;
    visit(
      {
        stream: p.streams[k]!,
        lines: p.heads[h]!,
        errorLines: p.heads[h + 1]!,
        errorExemplars: p.errorExemplars.slice(ee, ee + errors),
        templates,
        overflow: p.heads[h + 2]!,
        changes: p.heads[h + 3]!,
      },
      k,
    );
    ee += errors;
  }
}
