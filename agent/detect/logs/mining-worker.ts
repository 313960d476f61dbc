// Worker-thread side of the log mining pool (pool.ts). Each worker owns the miners of the streams routed to it
// (stream key → miner); batches of lines arrive, never single lines. `summarize` (the agent's path) sends back
// what a window needs — per template: count, level, error count and the window's first line — not a result per
// line. The window's other exemplar lines stay here until a signal asks for them (`exemplars`): most are never
// used, and at a thousand streams they were most of what crossed the thread boundary.
import { workerData } from 'node:worker_threads';
import { move, transferableSymbol, valueSymbol } from 'piscina';
import { EVIDENCE_MAX_LINE_CHARS, EVIDENCE_MAX_LINES } from '../../../common/signal.ts';
import {
  type BatchSummary,
  type PackedSummaries,
  packSummaries,
  type SummaryTemplate,
} from './batch-summary.ts';
import { isErrorLevel, levelRank } from './levels.ts';
import { forEachLine } from './line-texts.ts';
import { type MinerOptions, type MinerSnapshot, TemplateMiner } from './miner.ts';
import { TemplateLevels } from './template-levels.ts';

export interface MineTask {
  op: 'mine';
  stream: string;
  lines: string[];
}
export interface SnapshotTask {
  op: 'snapshot';
  stream: string;
}
export interface RestoreTask {
  op: 'restore';
  stream: string;
  snapshot: MinerSnapshot;
}
export interface DropTask {
  op: 'drop';
  stream: string;
}
/** A poll's plain lines as bytes (agent/sources/logs/line-batches.ts): each line followed by LF; `ends` their ends. */
export interface ByteLines {
  bytes: Uint8Array;
  ends: Int32Array;
}
/**
 * One stream's lines of a poll: as strings, as runs of the poll's byte lines (`segments`: flat `[from, to)`
 * pairs of line indexes into the task's `byteLines`), or both; the byte lines are counted first.
 */
export interface StreamLines {
  stream: string;
  lines?: string[];
  segments?: number[];
}
/** Batches of several streams of one shard in one message (one poll of many quiet files costs one round trip). */
export interface SummarizeManyTask {
  op: 'summarizeMany';
  stream: string;
  batches: StreamLines[];
  byteLines?: ByteLines;
  window: number;
}
/** The exemplar lines the window being closed kept of some templates and of its error lines, per stream. */
export interface ExemplarsTask {
  op: 'exemplars';
  stream: string;
  window: number;
  wanted: WantedExemplars[];
}
export interface WantedExemplars {
  stream: string;
  /** Template ids as the window's summaries gave them. */
  templates: string[];
  errors: boolean;
}
/** Per wanted stream: the lines of each template asked for (in order), and the error lines (when asked). */
export interface WindowExemplars {
  templates: string[][];
  errors: string[];
}
/** CPU time of the worker thread so far (for benchmarks: main thread and mining split apart). */
export interface CpuTask {
  op: 'cpu';
  stream: string;
}
export type { BatchSummary, SummaryTemplate };
export type MiningTask =
  | MineTask
  | SummarizeManyTask
  | ExemplarsTask
  | SnapshotTask
  | RestoreTask
  | DropTask
  | CpuTask;

export interface BatchTemplate {
  id: string;
  /** Text at the end of the batch. */
  template: string;
  /** Created by a line of this batch. */
  isNew: boolean;
  /** Lines of this batch that went to it. */
  count: number;
}

export interface MineBatchResult {
  stream: string;
  /** Template id per input line, in order (merged ids already resolved at the end of the batch). */
  templateIds: string[];
  /** Every template this batch touched, once. */
  templates: BatchTemplate[];
  /** Lines of this batch that hit the template cap. */
  overflow: number;
  /** The miner's `changes` after this batch (see TemplateMiner.changes): unchanged → no need to re-snapshot. */
  changes: number;
}

/** A stream's miner and what the worker remembers of the window being filled. */
export class StreamMiner {
  readonly miner: TemplateMiner;
  readonly levels = new TemplateLevels();
  private window = -1;
  /** This window's exemplars (≤ EVIDENCE_MAX_LINES each), by template id as its summaries gave it. */
  private readonly windowExemplars = new Map<string, string[]>();
  private windowErrorExemplars: string[] = [];
  // The batch being counted (reset by `begin`).
  private touched = new Map<string, Pending>();
  private errorExemplars: string[] = [];
  private errorLines = 0;
  private overflowBefore = 0;
  /** The bytes of the byte lines being counted: exemplars are decoded from them (see `exemplarOf`). */
  private bytes: Buffer | undefined;

  constructor(miner: TemplateMiner) {
    this.miner = miner;
  }

  /** One batch of lines as strings. */
  summarize(lines: string[], window: number, stream = ''): BatchSummary {
    return this.summarizeLines({ stream, lines }, window);
  }

  /** One batch of lines as bytes (each line followed by LF, `ends` its end offsets). */
  summarizeBytes(bytes: Uint8Array, ends: Int32Array, window: number, stream = ''): BatchSummary {
    return this.summarizeLines({ stream, segments: [0, ends.length] }, window, { bytes, ends });
  }

  /** A stream's lines of a poll in either or both forms (StreamLines; `byteLines` holds its segments' lines). */
  summarizeLines(b: StreamLines, window: number, byteLines?: ByteLines): BatchSummary {
    this.begin(window);
    let n = 0;
    const segments = b.segments ?? [];
    if (segments.length > 0) {
      if (byteLines === undefined) throw new Error(`stream ${b.stream}: line segments without byte lines`);
      const { bytes, ends } = byteLines;
      this.bytes = Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength);
      for (let k = 0; k + 1 < segments.length; k += 2) {
        const from = segments[k]!;
        const to = segments[k + 1]!;
        forEachLine(bytes, ends, from, to, this.countLine);
        n += to - from;
      }
      this.bytes = undefined;
    }
    for (const line of b.lines ?? []) this.count(line, 0, line.length, -1);
    return this.end(n + (b.lines?.length ?? 0), b.stream);
  }

  private readonly countLine = (text: string, from: number, to: number, latin1At: number): void =>
    this.count(text, from, to, latin1At);

  /** The exemplar lines this window kept of the templates (by id) and of its error lines. */
  exemplarsOf(window: number, templates: readonly string[]): WindowExemplars {
    if (window !== this.window) return { templates: templates.map(() => []), errors: [] };
    return {
      templates: templates.map((id) => this.windowExemplars.get(id) ?? []),
      errors: this.windowErrorExemplars,
    };
  }

  private begin(window: number): void {
    if (window !== this.window) {
      this.window = window;
      this.windowExemplars.clear();
      if (this.windowErrorExemplars.length > 0) this.windowErrorExemplars = [];
    }
    this.touched = new Map();
    this.errorExemplars = [];
    this.errorLines = 0;
    this.overflowBefore = this.miner.stats().overflow;
  }

  /**
   * Mines the line `text[from, to)` and counts it towards its template. `latin1At`: where the line starts in
   * `this.bytes` when `text` was decoded from them one byte per character (else -1).
   */
  private count(text: string, from: number, to: number, latin1At: number): void {
    const miner = this.miner;
    const r = miner.addRange(text, from, to);
    const level = this.levels.levelOf(
      r.templateId,
      r.template,
      miner.lastTemplateTokens,
      miner.lastLineTokens,
      text,
      from,
      to,
    );
    let t = this.touched.get(r.templateId);
    if (t === undefined) {
      const room = EVIDENCE_MAX_LINES - (this.windowExemplars.get(r.templateId)?.length ?? 0);
      t = { id: r.templateId, isNew: false, count: 0, level, errorCount: 0, exemplars: [], room };
      this.touched.set(r.templateId, t);
    }
    t.count++;
    if (r.isNew) t.isNew = true;
    if (level !== t.level && levelRank(level) > levelRank(t.level)) t.level = level;
    if (isErrorLevel(level)) {
      this.errorLines++;
      t.errorCount++;
      if (this.windowErrorExemplars.length + this.errorExemplars.length < EVIDENCE_MAX_LINES)
        this.errorExemplars.push(this.exemplarOf(text, from, to, latin1At));
    }
    if (t.exemplars.length < t.room) t.exemplars.push(this.exemplarOf(text, from, to, latin1At));
  }

  /**
   * `text[from, to)` as an exemplar, cut at EVIDENCE_MAX_LINE_CHARS, in a string of its own: the window keeps it,
   * and a slice would keep the whole 32 KiB of decoded lines (or a 10 MB line) alive with it.
   */
  private exemplarOf(text: string, from: number, to: number, latin1At: number): string {
    const cut = to - from > EVIDENCE_MAX_LINE_CHARS;
    const end = cut ? from + EVIDENCE_MAX_LINE_CHARS : to;
    let line: string;
    if (latin1At >= 0 && this.bytes !== undefined)
      line = this.bytes.toString('latin1', latin1At, latin1At + end - from);
    else if (from === 0 && end === text.length) line = text;
    else line = Buffer.from(text.slice(from, end)).toString();
    return cut ? `${line}…` : line;
  }

  private end(lines: number, stream: string): BatchSummary {
    const miner = this.miner;
    // Ids as they stand at the end of the batch: a template merged during it counts towards the survivor.
    const templates = new Map<string, SummaryTemplate>();
    for (const t of this.touched.values()) {
      const id = miner.resolve(t.id);
      const into = templates.get(id);
      if (into === undefined) {
        templates.set(id, {
          id,
          template: miner.templateOf(id) ?? '',
          isNew: t.isNew,
          count: t.count,
          level: t.level,
          errorCount: t.errorCount,
          exemplars: t.exemplars,
        });
        continue;
      }
      into.count += t.count;
      into.errorCount += t.errorCount;
      into.isNew ||= t.isNew;
      if (levelRank(t.level) > levelRank(into.level)) into.level = t.level;
      into.exemplars.push(...t.exemplars);
    }
    // The window keeps the exemplars (up to EVIDENCE_MAX_LINES a template); the summary carries only a
    // template's first line of the window, in the batch that brings it.
    for (const t of templates.values()) {
      if (t.exemplars.length === 0) continue;
      const kept = this.windowExemplars.get(t.id);
      if (kept === undefined) {
        this.windowExemplars.set(t.id, t.exemplars.slice(0, EVIDENCE_MAX_LINES));
        t.exemplars.length = 1;
        continue;
      }
      for (const e of t.exemplars) if (kept.length < EVIDENCE_MAX_LINES) kept.push(e);
      t.exemplars = [];
    }
    const firstError = this.windowErrorExemplars.length === 0 ? this.errorExemplars.slice(0, 1) : [];
    for (const e of this.errorExemplars) this.windowErrorExemplars.push(e);
    const summary: BatchSummary = {
      stream,
      lines,
      errorLines: this.errorLines,
      errorExemplars: firstError,
      templates: [...templates.values()],
      overflow: miner.stats().overflow - this.overflowBefore,
      changes: miner.changes,
    };
    this.touched = new Map();
    this.errorExemplars = [];
    return summary;
  }
}

/** A template's share while the batch is mined; `room`: exemplars the window still lacks of it. */
interface Pending extends Omit<SummaryTemplate, 'template'> {
  room: number;
}

const minerOptions = ((workerData as { minerOptions?: MinerOptions } | undefined)?.minerOptions ??
  {}) as MinerOptions;
const streams = new Map<string, StreamMiner>();

function streamFor(stream: string): StreamMiner {
  let s = streams.get(stream);
  if (!s) {
    s = new StreamMiner(new TemplateMiner(minerOptions));
    streams.set(stream, s);
  }
  return s;
}

export function mineBatch(miner: TemplateMiner, stream: string, lines: readonly string[]): MineBatchResult {
  const ids: string[] = new Array(lines.length);
  const created = new Set<string>();
  const before = miner.stats().overflow;
  for (let i = 0; i < lines.length; i++) {
    const r = miner.add(lines[i]!);
    ids[i] = r.templateId;
    if (r.isNew) created.add(r.templateId);
  }
  const touched = new Map<string, BatchTemplate>();
  for (let i = 0; i < ids.length; i++) {
    const id = miner.resolve(ids[i]!);
    ids[i] = id;
    const t = touched.get(id);
    if (t) t.count++;
    else touched.set(id, { id, template: miner.templateOf(id) ?? '', isNew: false, count: 1 });
  }
  for (const id of created) {
    const t = touched.get(miner.resolve(id));
    if (t) t.isNew = true;
  }
  return {
    stream,
    templateIds: ids,
    templates: [...touched.values()],
    overflow: miner.stats().overflow - before,
    changes: miner.changes,
  };
}

/** The answer to `summarizeMany`: one summary per batch, and the byte lines' buffers given back for reuse. */
export interface SummarizeManyReply {
  packed: PackedSummaries;
  returned?: ByteLines;
}

function exemplars(task: ExemplarsTask): WindowExemplars[] {
  return task.wanted.map(
    (w) => streams.get(w.stream)?.exemplarsOf(task.window, w.templates) ?? { templates: [], errors: [] },
  );
}

function summarizeMany(task: SummarizeManyTask): SummarizeManyReply | ReturnType<typeof move> {
  const packed = packSummaries(
    task.batches.map((b) => streamFor(b.stream).summarizeLines(b, task.window, task.byteLines)),
  );
  const returned = task.byteLines;
  if (returned === undefined) return { packed };
  // The buffers go back by transfer (not copy) so that the reader fills them again.
  return move({
    [transferableSymbol]: [returned.bytes.buffer, returned.ends.buffer],
    [valueSymbol]: { packed, returned },
  });
}

export default function handle(
  task: MiningTask,
):
  | MineBatchResult
  | SummarizeManyReply
  | ReturnType<typeof move>
  | WindowExemplars[]
  | MinerSnapshot
  | NodeJS.CpuUsage
  | null {
  switch (task.op) {
    case 'mine':
      return mineBatch(streamFor(task.stream).miner, task.stream, task.lines);
    case 'summarizeMany':
      return summarizeMany(task);
    case 'exemplars':
      return exemplars(task);
    case 'snapshot':
      return streams.get(task.stream)?.miner.snapshot() ?? null;
    case 'restore':
      streams.set(task.stream, new StreamMiner(TemplateMiner.restore(task.snapshot)));
      return null;
    case 'drop':
      streams.delete(task.stream);
      return null;
    case 'cpu':
      return process.threadCpuUsage();
  }
}
