// The aggregator's view of every node: persisted record (sequence, counters) plus live connection state and
// the latest metric digests. Emits what it accepts so the integration API can stream it.
import { EventEmitter } from 'node:events';
import type { MetricDigest, Summary } from '../../proto/gen/vigil/v1/summary_pb.js';
import type { NodeRecord } from '../store/aggregator-store.ts';
import { judgeSequence, type SequenceVerdict } from './sequence.ts';

export interface NodeState {
  record: NodeRecord;
  connected: boolean;
  connectedSinceMs: number;
  /** Identifies the live stream, so a newer connection for the same node replaces an older one. */
  sessionId: number;
  latest: MetricDigest[];
}

export interface RegistryEvents {
  summary: [node: string, seq: number, summary: Summary];
  node: [state: NodeState];
}

/** Whether the aggregator has consumed any sequence of this node (stored or refused). */
function holdsSequence(record: NodeRecord): boolean {
  return record.batches + record.rejectedBatches > 0;
}

export class NodeRegistry extends EventEmitter<RegistryEvents> {
  private readonly nodes = new Map<string, NodeState>();
  private nextSession = 1;

  constructor(records: NodeRecord[]) {
    super();
    this.setMaxListeners(0);
    for (const record of records) {
      this.nodes.set(record.node, {
        record,
        connected: false,
        connectedSinceMs: 0,
        sessionId: 0,
        latest: [],
      });
    }
  }

  get(node: string): NodeState | undefined {
    return this.nodes.get(node);
  }

  all(): NodeState[] {
    return [...this.nodes.values()];
  }

  get connectedCount(): number {
    let n = 0;
    for (const s of this.nodes.values()) if (s.connected) n++;
    return n;
  }

  /** A hello: returns the session id and whether the node is new. */
  connect(node: string, agentVersion: string, info: Record<string, string>, now: number) {
    let state = this.nodes.get(node);
    const isNew = state === undefined;
    if (!state) {
      state = {
        record: {
          node,
          lastSeq: 0,
          batches: 0,
          droppedBatches: 0,
          rejectedBatches: 0,
          agentVersion,
          info,
          firstSeenMs: now,
          lastSeenMs: now,
          signals: 0,
        },
        connected: false,
        connectedSinceMs: 0,
        sessionId: 0,
        latest: [],
      };
      this.nodes.set(node, state);
    }
    state.record.agentVersion = agentVersion;
    state.record.info = info;
    state.record.lastSeenMs = now;
    state.connected = true;
    state.connectedSinceMs = now;
    state.sessionId = this.nextSession++;
    this.emit('node', state);
    // A node with a record but no consumed batch yet is still "new" for sequencing.
    return {
      sessionId: state.sessionId,
      isNew: isNew || !holdsSequence(state.record),
      lastSeq: state.record.lastSeq,
    };
  }

  disconnect(node: string, sessionId: number): void {
    const state = this.nodes.get(node);
    if (!state || state.sessionId !== sessionId) return;
    state.connected = false;
    this.emit('node', state);
  }

  judge(node: string, seq: number, droppedBefore: number): SequenceVerdict {
    const record = this.nodes.get(node)?.record;
    const last = record && holdsSequence(record) ? record.lastSeq : undefined;
    return judgeSequence(last, seq, droppedBefore);
  }

  /**
   * Records an accepted sequence (a stored summary, or a refused one that is consumed all the same so the
   * stream moves on). Returns a copy of the record to persist.
   */
  advance(node: string, seq: number, now: number, summary: Summary | undefined): NodeRecord {
    const state = this.nodes.get(node);
    if (!state) throw new Error(`advance for unknown node ${node}`);
    const r = state.record;
    r.lastSeq = seq;
    r.lastSeenMs = now;
    if (summary) {
      r.batches++;
      r.signals += summary.signals.length;
      const dropped = Number(summary.drops?.droppedBatches ?? 0n);
      if (dropped > r.droppedBatches) r.droppedBatches = dropped;
      if (summary.metrics.length > 0) state.latest = summary.metrics;
    } else {
      r.rejectedBatches++;
    }
    return { ...r };
  }

  /** After a failed write, forget what was not persisted. */
  restore(record: NodeRecord): void {
    const state = this.nodes.get(record.node);
    if (state) state.record = { ...record };
  }
}
