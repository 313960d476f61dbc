// What the aggregator must not lose, in LMDB: per node the last stored sequence and counters, and the recent
// summaries. A batch's summary and its node record commit in one transaction, and the ack goes out only
// after the commit, so an aggregator killed at any moment never acks what it does not hold.
import { join } from 'node:path';
import type { Database, RootDatabase } from 'lmdb';
import type { Logger } from '../../common/log.ts';
import { openLmdb } from '../../common/store/lmdb.ts';

export interface NodeRecord {
  node: string;
  lastSeq: number;
  /** Batches stored (each sequence once). */
  batches: number;
  /** Highest lifetime drop total the agent reported. */
  droppedBatches: number;
  /** Batches the aggregator refused (undecodable, too large). */
  rejectedBatches: number;
  agentVersion: string;
  info: Record<string, string>;
  firstSeenMs: number;
  lastSeenMs: number;
  signals: number;
}

/**
 * A stored record as a NodeRecord: what sequence judging needs (name, last sequence, counts) must be there;
 * fields a record of an older version may lack take their defaults.
 */
function asNodeRecord(v: unknown, key: string): NodeRecord | undefined {
  if (typeof v !== 'object' || v === null) return undefined;
  const r = v as Record<string, unknown>;
  const count = (k: string) =>
    typeof r[k] === 'number' && Number.isFinite(r[k]) ? (r[k] as number) : undefined;
  const lastSeq = count('lastSeq');
  const batches = count('batches');
  const rejectedBatches = count('rejectedBatches');
  if (r['node'] !== key || lastSeq === undefined || batches === undefined || rejectedBatches === undefined)
    return undefined;
  const info =
    typeof r['info'] === 'object' && r['info'] !== null ? (r['info'] as Record<string, string>) : {};
  return {
    node: key,
    lastSeq,
    batches,
    rejectedBatches,
    droppedBatches: count('droppedBatches') ?? 0,
    agentVersion: typeof r['agentVersion'] === 'string' ? r['agentVersion'] : '',
    info,
    firstSeenMs: count('firstSeenMs') ?? 0,
    lastSeenMs: count('lastSeenMs') ?? 0,
    signals: count('signals') ?? 0,
  };
}

export class AggregatorStore {
  readonly root: RootDatabase;
  private readonly nodes: Database<NodeRecord, string>;
  private readonly summaries: Database<Buffer, [string, number]>;
  private readonly retain: number;
  readonly recoveredFrom: string | undefined;

  private readonly logger: Logger;

  constructor(stateDir: string, logger: Logger, opts: { retainSummaries: number }) {
    this.logger = logger;
    const opened = openLmdb(join(stateDir, 'aggregator.mdb'), logger);
    this.root = opened.root;
    this.recoveredFrom = opened.recoveredFrom;
    this.nodes = this.root.openDB<NodeRecord, string>({ name: 'nodes', encoding: 'msgpack' });
    this.summaries = this.root.openDB<Buffer, [string, number]>({ name: 'summaries', encoding: 'binary' });
    this.retain = opts.retainSummaries;
  }

  /**
   * The stored node records. One that does not have a record's shape (damage that still decodes, another
   * version's record) is skipped with an error line naming its key: that node starts afresh, its next batch
   * accepted as a first one.
   */
  loadNodes(): NodeRecord[] {
    const out: NodeRecord[] = [];
    for (const { key, value } of this.nodes.getRange({})) {
      const record = asNodeRecord(value, key);
      if (record) out.push(record);
      else
        this.logger.error(
          { db: 'nodes', key },
          'stored node record has an unexpected shape; skipped (the node starts afresh)',
        );
    }
    return out;
  }

  /**
   * Stores one batch's summary with the node's new record, and `alsoWrite` (the node's summary dictionary)
   * in the same transaction; resolves once committed.
   */
  writeBatch(
    record: NodeRecord,
    seq: number,
    summary: Uint8Array | undefined,
    alsoWrite?: () => void,
  ): Promise<void> {
    const node = record.node;
    return this.root.transaction(() => {
      alsoWrite?.();
      if (summary)
        this.summaries.put([node, seq], Buffer.from(summary.buffer, summary.byteOffset, summary.length));
      if (seq > this.retain) this.summaries.remove([node, seq - this.retain]);
      this.nodes.put(node, { ...record });
    }) as Promise<void>;
  }

  /** Stored summaries of a node, oldest first, as sequence and bytes. */
  *readSummaries(node: string, fromSeq = 0): Generator<{ seq: number; summary: Buffer }> {
    for (const { key, value } of this.summaries.getRange({
      start: [node, fromSeq],
      end: [node, Number.MAX_SAFE_INTEGER],
    })) {
      yield { seq: key[1], summary: value };
    }
  }

  close(): Promise<void> {
    return this.root.close();
  }
}
