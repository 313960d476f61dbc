// Worker-thread side of the log mining pool (pool.ts). Each worker owns the miners of the streams routed to it
// (stream key → miner); batches of lines arrive, never single lines, and only ids and template texts go back.
import { workerData } from 'node:worker_threads';
import { type MinerOptions, type MinerSnapshot, TemplateMiner } from './miner.ts';

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
export type MiningTask = MineTask | SnapshotTask | RestoreTask | DropTask;

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

const minerOptions = ((workerData as { minerOptions?: MinerOptions } | undefined)?.minerOptions ??
  {}) as MinerOptions;
const miners = new Map<string, TemplateMiner>();

function minerFor(stream: string): TemplateMiner {
  let miner = miners.get(stream);
  if (!miner) {
    miner = new TemplateMiner(minerOptions);
    miners.set(stream, miner);
  }
  return miner;
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

export default function handle(task: MiningTask): MineBatchResult | MinerSnapshot | null {
  switch (task.op) {
    case 'mine':
      return mineBatch(minerFor(task.stream), task.stream, task.lines);
    case 'snapshot':
      return miners.get(task.stream)?.snapshot() ?? null;
    case 'restore':
      miners.set(task.stream, TemplateMiner.restore(task.snapshot));
      return null;
    case 'drop':
      miners.delete(task.stream);
      return null;
  }
}
