// Worker-thread side of the log mining pool (pool.ts). Each worker owns the miners of the streams routed to it
// (stream key → miner); batches of lines arrive, never single lines. `summarize` (the agent's path) sends back
// what a window needs — per template: count, level, error count and capped exemplars — not a result per line.
import { workerData } from 'node:worker_threads';
import { EVIDENCE_MAX_LINE_CHARS, EVIDENCE_MAX_LINES } from '../../../common/signal.ts';
import { type BatchSummary, type PackedSummary, packSummary, type SummaryTemplate } from './batch-summary.ts';
import { isErrorLevel, levelRank } from './levels.ts';
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
export interface SummarizeTask {
  op: 'summarize';
  stream: string;
  lines: string[];
  /** The window the batch is counted in: exemplars are capped per template and window. */
  window: number;
}
/** Batches of several streams of one shard in one message (one poll of many quiet files costs one round trip). */
export interface SummarizeManyTask {
  op: 'summarizeMany';
  stream: string;
  batches: Array<{ stream: string; lines: string[] }>;
  window: number;
}
/** CPU time of the worker thread so far (for benchmarks: main thread and mining split apart). */
export interface CpuTask {
  op: 'cpu';
  stream: string;
}
export type { BatchSummary, SummaryTemplate };
export type MiningTask =
  | MineTask
  | SummarizeTask
  | SummarizeManyTask
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
  /** Exemplars already sent in this window, by template id. */
  private readonly exemplarsSent = new Map<string, number>();
  private errorExemplarsSent = 0;

  constructor(miner: TemplateMiner) {
    this.miner = miner;
  }

  summarize(lines: readonly string[], window: number, stream = ''): BatchSummary {
    if (window !== this.window) {
      this.window = window;
      this.exemplarsSent.clear();
      this.errorExemplarsSent = 0;
    }
    const miner = this.miner;
    const before = miner.stats().overflow;
    const touched = new Map<string, Pending>();
    const errorExemplars: string[] = [];
    let errorLines = 0;
    for (let i = 0; i < lines.length; i++) {
      const line = lines[i]!;
      const r = miner.add(line);
      const level = this.levels.levelOf(
        r.templateId,
        r.template,
        miner.lastTemplateTokens,
        miner.lastLineTokens,
        line,
      );
      let t = touched.get(r.templateId);
      if (t === undefined) {
        const room = EVIDENCE_MAX_LINES - (this.exemplarsSent.get(r.templateId) ?? 0);
        t = { id: r.templateId, isNew: false, count: 0, level, errorCount: 0, exemplars: [], room };
        touched.set(r.templateId, t);
      }
      t.count++;
      if (r.isNew) t.isNew = true;
      if (level !== t.level && levelRank(level) > levelRank(t.level)) t.level = level;
      if (isErrorLevel(level)) {
        errorLines++;
        t.errorCount++;
        if (this.errorExemplarsSent < EVIDENCE_MAX_LINES) {
          this.errorExemplarsSent++;
          errorExemplars.push(clip(line));
        }
      }
      if (t.exemplars.length < t.room) t.exemplars.push(clip(line));
    }
    // Ids as they stand at the end of the batch: a template merged during it counts towards the survivor.
    const templates = new Map<string, SummaryTemplate>();
    for (const t of touched.values()) {
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
    // Exemplars go only while the window lacks them: what earlier batches of this window sent counts.
    for (const t of templates.values()) {
      if (t.exemplars.length === 0) continue;
      const sent = this.exemplarsSent.get(t.id) ?? 0;
      if (sent + t.exemplars.length > EVIDENCE_MAX_LINES)
        t.exemplars.length = Math.max(0, EVIDENCE_MAX_LINES - sent);
      this.exemplarsSent.set(t.id, sent + t.exemplars.length);
    }
    return {
      stream,
      lines: lines.length,
      errorLines,
      errorExemplars,
      templates: [...templates.values()],
      overflow: miner.stats().overflow - before,
      changes: miner.changes,
    };
  }
}

/** A template's share while the batch is mined; `room`: exemplars the window still lacks of it. */
interface Pending extends Omit<SummaryTemplate, 'template'> {
  room: number;
}

function clip(line: string): string {
  return line.length > EVIDENCE_MAX_LINE_CHARS ? `${line.slice(0, EVIDENCE_MAX_LINE_CHARS)}…` : line;
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

export default function handle(
  task: MiningTask,
): MineBatchResult | PackedSummary | PackedSummary[] | MinerSnapshot | NodeJS.CpuUsage | null {
  switch (task.op) {
    case 'mine':
      return mineBatch(streamFor(task.stream).miner, task.stream, task.lines);
    case 'summarize':
      return packSummary(streamFor(task.stream).summarize(task.lines, task.window, task.stream));
    case 'summarizeMany':
      return task.batches.map((b) =>
        packSummary(streamFor(b.stream).summarize(b.lines, task.window, b.stream)),
      );
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
