// Reads the real LMDB state a stopped agent or aggregator left behind.
import { join } from 'node:path';
import { pino } from 'pino';
import { Outbox } from '../../agent/buffer/outbox.ts';
import { AggregatorStore, type NodeRecord } from '../../aggregator/store/aggregator-store.ts';
import { openLmdb } from '../../common/store/lmdb.ts';

const quiet = pino({ level: 'silent' });

export interface AggregatorView {
  records: Map<string, NodeRecord>;
  /** Stored sequences per node, in order. */
  seqs: Map<string, number[]>;
}

export async function readAggregatorState(stateDir: string): Promise<AggregatorView> {
  const store = new AggregatorStore(stateDir, quiet, { retainSummaries: 1e9 });
  try {
    const records = new Map(store.loadNodes().map((r) => [r.node, r]));
    const seqs = new Map<string, number[]>();
    for (const node of records.keys())
      seqs.set(
        node,
        [...store.readSummaries(node)].map((s) => s.seq),
      );
    return { records, seqs };
  } finally {
    await store.close();
  }
}

export async function readOutbox(stateDir: string) {
  const { root } = openLmdb(join(stateDir, 'agent.mdb'), quiet);
  try {
    const outbox = new Outbox(root, { maxBytes: 1e12 });
    return { nextSeq: outbox.nextSeq, ackedSeq: outbox.ackedSeq, count: outbox.count, drops: outbox.drops };
  } finally {
    await root.close();
  }
}

export function range(from: number, to: number): number[] {
  return Array.from({ length: Math.max(0, to - from + 1) }, (_, i) => from + i);
}
