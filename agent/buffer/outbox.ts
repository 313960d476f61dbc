// The agent's durable outbox: every window's summary is stored under the next sequence number and stays
// until the aggregator acks it. Appends may carry other writes (log checkpoints, template state) that
// commit in the same LMDB transaction, so a crash can neither lose nor repeat what the batch accounts for.
// When the outbox reaches its size cap it drops the oldest low-value batches first (no signals), then
// the oldest of any kind. Every batch carries the lifetime drop totals (like a Prometheus counter), so
// the report of a drop is in the next batch and cannot itself be lost: never silent, never unbounded.
import type { Database, RootDatabase } from 'lmdb';
import type { Logger } from '../../common/log.ts';

/** Lifetime totals of batches dropped unsent. */
export interface DropStats {
  droppedBatches: number;
  droppedBytes: number;
  firstDroppedSeq: number;
  lastDroppedSeq: number;
}

export interface StoredBatch {
  seq: number;
  createdMs: number;
  summary: Uint8Array;
}

/** Batches that carry signals are worth more than plain metric windows and are dropped last. */
export type BatchValue = 'low' | 'high';

export interface AppendOptions {
  value?: BatchValue;
  /** Writes to commit atomically with the batch (e.g. log offsets). Runs inside the transaction. */
  alsoWrite?: () => void;
}

// Value layout: [1 byte value tier][8 bytes createdMs float64 LE][summary bytes].
const HEADER = 9;

interface Entry {
  seq: number;
  size: number;
}

/** A FIFO of entries with O(1) shift that compacts itself; avoids Array.shift's O(n). */
class Queue {
  private items: Entry[] = [];
  private head = 0;
  push(e: Entry) {
    this.items.push(e);
  }
  peek(): Entry | undefined {
    return this.items[this.head];
  }
  shift(): Entry | undefined {
    const e = this.items[this.head++];
    if (this.head > 1024 && this.head * 2 > this.items.length) {
      this.items = this.items.slice(this.head);
      this.head = 0;
    }
    return e;
  }
  get length() {
    return this.items.length - this.head;
  }
}

function isSequence(v: unknown): v is number {
  return typeof v === 'number' && Number.isSafeInteger(v) && v >= 0;
}

function isDropStats(v: unknown): v is DropStats {
  if (typeof v !== 'object' || v === null) return false;
  const d = v as Record<string, unknown>;
  return ['droppedBatches', 'droppedBytes', 'firstDroppedSeq', 'lastDroppedSeq'].every((k) =>
    isSequence(d[k]),
  );
}

export class Outbox {
  private readonly root: RootDatabase;
  private readonly batches: Database<Buffer, number>;
  private readonly meta: Database<unknown, string>;
  private readonly maxBytes: number;
  private readonly tiers: Record<BatchValue, Queue> = { low: new Queue(), high: new Queue() };
  private tail: Promise<unknown> = Promise.resolve();
  private nextSeqValue: number;
  private ackedSeqValue: number;
  private bytesValue = 0;
  private dropTotals: DropStats;
  /** Since this process started, for metrics. */
  readonly totals = { appended: 0, acked: 0 };

  constructor(root: RootDatabase, opts: { maxBytes: number; logger?: Logger }) {
    if (!(opts.maxBytes > HEADER))
      throw new Error(`outbox maxBytes must be a positive size, got ${opts.maxBytes}`);
    this.root = root;
    this.maxBytes = opts.maxBytes;
    this.batches = root.openDB<Buffer, number>({ name: 'outbox', encoding: 'binary' });
    this.meta = root.openDB<unknown, string>({ name: 'outbox-meta', encoding: 'msgpack' });
    // Rebuild the in-memory index (sequence, size, tier) from what is on disk.
    let lastKey = 0;
    for (const { key, value } of this.batches.getRange({})) {
      const size = value.length;
      this.tiers[value[0] === 1 ? 'high' : 'low'].push({ seq: key, size });
      this.bytesValue += size;
      lastKey = key;
    }
    // The counters are checked against the batches: a counter that is not a sequence (damage that still
    // decodes, another version's record) is rebuilt from them with a warning, and numbering always goes on
    // past the last stored batch, which a lower counter would overwrite.
    const repair = (what: string, stored: unknown, used: unknown) =>
      opts.logger?.warn(
        { what, stored, used },
        'outbox bookkeeping unreadable; rebuilt from the stored batches',
      );
    const next = this.meta.get('nextSeq');
    this.nextSeqValue = isSequence(next) && next > lastKey ? next : lastKey + 1;
    if (next !== undefined && next !== this.nextSeqValue) repair('nextSeq', next, this.nextSeqValue);
    const acked = this.meta.get('ackedSeq');
    const firstPending = this.tiers.low.peek()?.seq ?? this.tiers.high.peek()?.seq;
    this.ackedSeqValue = isSequence(acked) ? acked : Math.max(0, (firstPending ?? this.nextSeqValue) - 1);
    if (acked !== undefined && acked !== this.ackedSeqValue) repair('ackedSeq', acked, this.ackedSeqValue);
    const drops = this.meta.get('drops');
    this.dropTotals = isDropStats(drops)
      ? drops
      : { droppedBatches: 0, droppedBytes: 0, firstDroppedSeq: 0, lastDroppedSeq: 0 };
    if (drops !== undefined && drops !== this.dropTotals) repair('drops', drops, this.dropTotals);
  }

  get nextSeq(): number {
    return this.nextSeqValue;
  }
  get ackedSeq(): number {
    return this.ackedSeqValue;
  }
  get bytes(): number {
    return this.bytesValue;
  }
  get count(): number {
    return this.tiers.low.length + this.tiers.high.length;
  }
  get drops(): DropStats {
    return this.dropTotals;
  }

  /**
   * Stores a new batch. `encode` receives the lifetime drop totals to put in the summary; drops this append
   * causes are in the totals the next batch carries.
   */
  append(encode: (drops: DropStats) => Uint8Array, opts: AppendOptions = {}): Promise<number> {
    return this.serially(() => this.appendNow(encode, opts));
  }

  /**
   * Appends, acks and renumbering run one after the other: an append takes its sequence (and `encode` reads
   * `nextSeq`) before its transaction, so a renumbering in between would strand it below the acked mark.
   */
  private serially<T>(op: () => Promise<T>): Promise<T> {
    const run = this.tail.then(op);
    this.tail = run.catch(() => undefined);
    return run;
  }

  private async appendNow(encode: (drops: DropStats) => Uint8Array, opts: AppendOptions): Promise<number> {
    const seq = this.nextSeqValue;
    const summary = encode(this.dropTotals);
    const value = Buffer.allocUnsafe(HEADER + summary.length);
    value[0] = opts.value === 'high' ? 1 : 0;
    value.writeDoubleLE(Date.now(), 1);
    value.set(summary, HEADER);
    const dropped = this.planDrops(value.length);
    const drops = dropped.length > 0 ? this.addDrops(dropped) : this.dropTotals;
    await this.root.transaction(() => {
      for (const e of dropped) this.batches.remove(e.seq);
      this.batches.put(seq, value);
      this.meta.put('nextSeq', seq + 1);
      if (dropped.length > 0) this.meta.put('drops', drops);
      opts.alsoWrite?.();
    });
    this.nextSeqValue = seq + 1;
    this.dropTotals = drops;
    this.tiers[opts.value === 'high' ? 'high' : 'low'].push({ seq, size: value.length });
    this.bytesValue += value.length;
    this.totals.appended++;
    return seq;
  }

  /** Removes oldest low-value batches, then oldest of any value, until `incoming` fits under the cap. */
  private planDrops(incoming: number): Entry[] {
    const out: Entry[] = [];
    let bytes = this.bytesValue;
    while (bytes + incoming > this.maxBytes && this.count > 0) {
      const tier = this.tiers.low.length > 0 ? this.tiers.low : this.tiers.high;
      const e = tier.shift()!;
      bytes -= e.size;
      out.push(e);
    }
    this.bytesValue = bytes;
    return out;
  }

  private addDrops(dropped: Entry[]): DropStats {
    const base = this.dropTotals;
    let first = base.firstDroppedSeq || Infinity;
    let last = base.lastDroppedSeq;
    let size = 0;
    for (const e of dropped) {
      first = Math.min(first, e.seq);
      last = Math.max(last, e.seq);
      size += e.size;
    }
    return {
      droppedBatches: base.droppedBatches + dropped.length,
      droppedBytes: base.droppedBytes + size,
      firstDroppedSeq: first,
      lastDroppedSeq: last,
    };
  }

  /** Up to `limit` stored batches with a sequence above `afterSeq`, in order. */
  read(afterSeq: number, limit: number): StoredBatch[] {
    const out: StoredBatch[] = [];
    for (const { key, value } of this.batches.getRange({ start: afterSeq + 1, limit })) {
      out.push({ seq: key, createdMs: value.readDoubleLE(1), summary: value.subarray(HEADER) });
    }
    return out;
  }

  /** The aggregator holds everything up to `seq`: delete it for good. */
  ack(seq: number): Promise<void> {
    return this.serially(() => this.ackNow(seq));
  }

  /**
   * The aggregator holds sequences up to `last`, beyond any this outbox ever numbered: this agent's state was
   * lost (a wiped state directory, a corrupt store moved aside) while the aggregator kept the node's history.
   * The pending batches are news to it, not acked: they move, in order, to the sequences right after `last`
   * (one transaction) and numbering goes on from there. Returns how many moved.
   */
  renumberAfter(last: number): Promise<number> {
    return this.serially(async () => {
      if (last < this.nextSeqValue) return 0;
      let moved = 0;
      // The in-memory index is rebuilt from the moved batches, as the constructor builds it from the stored ones.
      const tiers: Record<BatchValue, Queue> = { low: new Queue(), high: new Queue() };
      await this.root.transaction(() => {
        // Every pending key is below `nextSeq` ≤ `last`, every new one above it: no collision, and the range
        // read ends before the keys written.
        const keys = [...this.batches.getKeys({ end: last + 1 })];
        for (const from of keys) {
          const value = this.batches.get(from);
          if (value === undefined) continue;
          const seq = last + 1 + moved;
          this.batches.put(seq, value);
          this.batches.remove(from);
          tiers[value[0] === 1 ? 'high' : 'low'].push({ seq, size: value.length });
          moved++;
        }
        this.meta.put('ackedSeq', last);
        this.meta.put('nextSeq', last + 1 + moved);
      });
      this.tiers.low = tiers.low;
      this.tiers.high = tiers.high;
      this.ackedSeqValue = last;
      this.nextSeqValue = last + 1 + moved;
      return moved;
    });
  }

  private async ackNow(seq: number): Promise<void> {
    if (seq <= this.ackedSeqValue) return;
    const gone: Entry[] = [];
    for (const tier of [this.tiers.low, this.tiers.high]) {
      while ((tier.peek()?.seq ?? Infinity) <= seq) gone.push(tier.shift()!);
    }
    this.ackedSeqValue = seq;
    for (const e of gone) this.bytesValue -= e.size;
    this.totals.acked += gone.length;
    await this.root.transaction(() => {
      for (const e of gone) this.batches.remove(e.seq);
      this.meta.put('ackedSeq', seq);
      // A fresh aggregator may ack a sequence beyond what we ever wrote (it never happens with an honest one);
      // keep numbering ahead of every ack so sequences stay unique.
      if (seq >= this.nextSeqValue) this.meta.put('nextSeq', seq + 1);
    });
    if (seq >= this.nextSeqValue) this.nextSeqValue = seq + 1;
  }
}
