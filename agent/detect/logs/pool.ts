// Log mining off the main thread: a piscina pool per shard, one worker thread each, so that every batch of a
// stream goes to the same worker (which holds that stream's miner); batches of one stream are chained in order.
// Batches of lines cross the thread boundary, never single lines.
import { Piscina } from 'piscina';
import type { MinerOptions, MinerSnapshot } from './miner.ts';
import type { MineBatchResult, MiningTask } from './mining-worker.ts';

export interface LogMiningPoolOptions {
  /** Worker threads (shards). Default 1. */
  threads?: number;
  /** Miner options for every stream (default: the one default configuration). */
  minerOptions?: MinerOptions;
}

const WORKER_URL = new URL('./mining-worker.ts', import.meta.url).href;

/** FNV-1a of the stream key: a stable shard for each stream. */
export function shardOf(stream: string, shards: number): number {
  let h = 0x811c9dc5;
  for (let i = 0; i < stream.length; i++) h = Math.imul(h ^ stream.charCodeAt(i), 0x01000193);
  return (h >>> 0) % shards;
}

export class LogMiningPool {
  private readonly shards: Piscina[];
  private readonly tails = new Map<string, Promise<void>>();

  constructor(opts: LogMiningPoolOptions = {}) {
    const threads = opts.threads ?? 1;
    if (!Number.isInteger(threads) || threads < 1)
      throw new RangeError('options.threads must be a positive integer');
    this.shards = [];
    for (let i = 0; i < threads; i++) {
      this.shards.push(
        new Piscina({
          filename: WORKER_URL,
          minThreads: 1,
          maxThreads: 1,
          concurrentTasksPerWorker: 1,
          idleTimeout: Number.POSITIVE_INFINITY,
          workerData: { minerOptions: opts.minerOptions ?? {} },
        }),
      );
    }
  }

  /** Mines a batch of one stream's lines in that stream's worker. */
  mine(stream: string, lines: string[]): Promise<MineBatchResult> {
    return this.run({ op: 'mine', stream, lines }) as Promise<MineBatchResult>;
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
    await Promise.all(this.shards.map((p) => p.destroy()));
  }

  // Piscina does not promise FIFO execution, so each stream's tasks are chained: a stream's batches are mined
  // in submission order, while different streams still run concurrently.
  private run(task: MiningTask): Promise<unknown> {
    const shard = this.shards[shardOf(task.stream, this.shards.length)]!;
    const previous = this.tails.get(task.stream) ?? Promise.resolve();
    const result = previous.then(() => shard.run(task));
    const tail = result.then(
      () => undefined,
      () => undefined,
    );
    this.tails.set(task.stream, tail);
    void tail.then(() => {
      if (this.tails.get(task.stream) === tail) this.tails.delete(task.stream);
    });
    return result;
  }
}
