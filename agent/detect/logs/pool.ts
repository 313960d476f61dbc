// Log mining off the main thread: a piscina pool per shard, one worker thread each, so that every batch of a
// stream goes to the same worker (which holds that stream's miner); batches of one stream are chained in order.
// Batches of lines cross the thread boundary, never single lines.
import { singleThread, type TaskThread } from '../detection-thread.ts';
import { type BatchSummary, forEachSummary } from './batch-summary.ts';
import type { MinerOptions, MinerSnapshot } from './miner.ts';
import type {
  ByteLines,
  ExemplarsTask,
  MineBatchResult,
  MiningTask,
  StreamLines,
  SummarizeManyReply,
  SummarizeManyTask,
  WantedExemplars,
  WindowExemplars,
} from './mining-worker.ts';

export interface LogMiningPoolOptions {
  /** Worker threads (shards). Default 1. */
  threads?: number;
  /** Miner options for every stream (default: the one default configuration). */
  minerOptions?: MinerOptions;
  /**
   * Run on this thread (the agent's shared detection thread, handler `logs`) instead of threads of its own; it
   * was started with the miner options, and whoever started it closes it.
   */
  thread?: TaskThread;
}

const WORKER_URL = new URL('./mining-worker.ts', import.meta.url).href;

/** FNV-1a of the stream key: a stable shard for each stream. */
export function shardOf(stream: string, shards: number): number {
  let h = 0x811c9dc5;
  for (let i = 0; i < stream.length; i++) h = Math.imul(h ^ stream.charCodeAt(i), 0x01000193);
  return (h >>> 0) % shards;
}

export class LogMiningPool {
  private readonly shards: TaskThread[];
  private readonly tails = new Map<number, Promise<void>>();

  constructor(opts: LogMiningPoolOptions = {}) {
    const threads = opts.threads ?? 1;
    if (!Number.isInteger(threads) || threads < 1)
      throw new RangeError('options.threads must be a positive integer');
    if (opts.thread) {
      if (threads !== 1) throw new RangeError('a shared thread is one shard: options.threads must be 1');
      this.shards = [opts.thread];
      return;
    }
    this.shards = [];
    for (let i = 0; i < threads; i++) {
      const piscina = singleThread(WORKER_URL, { minerOptions: opts.minerOptions ?? {} });
      this.shards.push({ piscina, name: 'default', owned: true });
    }
  }

  /** Mines a batch of one stream's lines in that stream's worker. */
  mine(stream: string, lines: string[]): Promise<MineBatchResult> {
    return this.run({ op: 'mine', stream, lines }) as Promise<MineBatchResult>;
  }

  /**
   * Mines the batches of many streams (in input order) and returns what a window needs of each (per template:
   * count, level, error count, the window's first line; see `exemplars` for the rest). `window` numbers the
   * window the batches are counted in (it must not decrease from one batch of a stream to the next). One
   * message per worker thread instead of one per stream, so a poll that found a few lines in each of a thousand
   * files costs a round trip, not a thousand. A batch may carry its lines as bytes (`bytes`/`ends`, see
   * StreamLines), which are transferred to the worker and come back with the answer, handed to `recycle`.
   */
  async summarizeMany(
    batches: readonly StreamLines[],
    window: number,
    byteLines?: ByteLines,
    recycle?: (bytes: Uint8Array, ends: Int32Array) => void,
  ): Promise<BatchSummary[]> {
    const out: BatchSummary[] = new Array(batches.length);
    await this.summarizeEach(batches, window, byteLines, recycle, (summary, i) => {
      out[i] = summary;
    });
    return out;
  }

  /**
   * `summarizeMany`, handing each batch's summary to `each` (with the batch's index) as it is unpacked, in input
   * order within a worker thread's share: the log pipeline adds it to its window at once, so a thousand
   * summaries are not all alive together.
   */
  async summarizeEach(
    batches: readonly StreamLines[],
    window: number,
    byteLines: ByteLines | undefined,
    recycle: ((bytes: Uint8Array, ends: Int32Array) => void) | undefined,
    each: (summary: BatchSummary, index: number) => void,
  ): Promise<void> {
    // The byte lines move to the first shard that needs them (transferred: the caller must not use them
    // afterwards); any other shard that needs them gets a copy.
    let moved = false;
    await Promise.all(
      [...this.byShard(batches)].map(async ([shard, indexes]) => {
        const mine = indexes.map((i) => batches[i]!);
        const needsBytes = byteLines !== undefined && mine.some((b) => (b.segments?.length ?? 0) > 0);
        let task: SummarizeManyTask = { op: 'summarizeMany', stream: '', batches: mine, window };
        let transfer: ArrayBuffer[] = [];
        if (needsBytes && !moved) {
          moved = true;
          // Only the two buffers: a caller's object may hold more (the pipeline passes its LineBatch, whose
          // segments name every stream with its whole key), and all of it would be cloned there and back.
          task = { ...task, byteLines: { bytes: byteLines.bytes, ends: byteLines.ends } };
          transfer = [byteLines.bytes.buffer as ArrayBuffer, byteLines.ends.buffer as ArrayBuffer];
        } else if (needsBytes) {
          task = { ...task, byteLines: { bytes: byteLines.bytes.slice(), ends: byteLines.ends.slice() } };
        }
        const reply = (await this.run(task, shard, transfer)) as SummarizeManyReply;
        if (recycle && reply.returned) recycle(reply.returned.bytes, reply.returned.ends);
        forEachSummary(reply.packed, (summary, k) => each(summary, indexes[k]!));
      }),
    );
  }

  /**
   * The exemplar lines that window `window` kept in the workers (the summaries carry only each template's first):
   * per wanted stream, the lines of each template asked for and the error lines. Ask before the window's
   * successor sends its first batch (the log pipeline asks while it closes the window); a stream the worker no
   * longer knows, or a window it has left, gives none.
   */
  async exemplars(wanted: readonly WantedExemplars[], window: number): Promise<WindowExemplars[]> {
    const out: WindowExemplars[] = new Array(wanted.length);
    await Promise.all(
      [...this.byShard(wanted)].map(async ([shard, indexes]) => {
        const task: ExemplarsTask = {
          op: 'exemplars',
          stream: '',
          window,
          wanted: indexes.map((i) => wanted[i]!),
        };
        const reply = (await this.run(task, shard)) as WindowExemplars[];
        reply.forEach((r, k) => {
          out[indexes[k]!] = r;
        });
      }),
    );
    return out;
  }

  /** Resolves once every worker thread has started (so start-up is not paid by the first batch). */
  async ready(): Promise<void> {
    await Promise.all(this.shards.map((_, i) => this.run({ op: 'snapshot', stream: `\0ready${i}` }, i)));
  }

  /** CPU seconds each worker thread has used so far (for benchmarks). */
  async cpuSeconds(): Promise<number[]> {
    return Promise.all(
      this.shards.map(async (_, i) => {
        const u = (await this.run({ op: 'cpu', stream: `\0cpu${i}` }, i)) as NodeJS.CpuUsage;
        return (u.user + u.system) / 1e6;
      }),
    );
  }

  /** The stream's miner state (to persist, e.g. in LMDB), or null if the stream has no miner yet. */
  snapshot(stream: string): Promise<MinerSnapshot | null> {
    return this.run({ op: 'snapshot', stream }) as Promise<MinerSnapshot | null>;
  }

  /** Replaces the stream's miner by a restored one (call before its first batch after a restart). */
  async restore(stream: string, snapshot: MinerSnapshot): Promise<void> {
    await this.run({ op: 'restore', stream, snapshot });
  }

  /** Forgets a stream (its container is gone). */
  async drop(stream: string): Promise<void> {
    await this.run({ op: 'drop', stream });
  }

  get threads(): number {
    return this.shards.length;
  }

  async close(): Promise<void> {
    await Promise.all(this.shards.map((t) => (t.owned ? t.piscina.destroy() : undefined)));
  }

  /** The indexes of the items of each shard, in input order. */
  private byShard(items: ReadonlyArray<{ stream: string }>): Map<number, number[]> {
    const byShard = new Map<number, number[]>();
    items.forEach((item, i) => {
      const shard = shardOf(item.stream, this.shards.length);
      const list = byShard.get(shard);
      if (list) list.push(i);
      else byShard.set(shard, [i]);
    });
    return byShard;
  }

  // Piscina does not promise FIFO execution, so each worker's tasks are chained: everything about a stream goes
  // to its shard's one worker, so its batches, snapshots and restores run in submission order.
  private run(
    task: MiningTask,
    shardIndex = shardOf(task.stream, this.shards.length),
    transferList: ArrayBuffer[] = [],
  ): Promise<unknown> {
    const shard = this.shards[shardIndex]!;
    const previous = this.tails.get(shardIndex) ?? Promise.resolve();
    const result = previous.then(() =>
      shard.piscina.run(
        task,
        transferList.length > 0 ? { name: shard.name, transferList } : { name: shard.name },
      ),
    );
    const tail = result.then(
      () => undefined,
      () => undefined,
    );
    this.tails.set(shardIndex, tail);
    void tail.then(() => {
      if (this.tails.get(shardIndex) === tail) this.tails.delete(shardIndex);
    });
    return result;
  }
}
