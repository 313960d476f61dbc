// The integration API: what clients (CLI, dashboards, integrations) read. A slow watcher never slows
// ingestion: when its stream buffer is full, events for it are skipped and counted.
import { create } from '@bufbuild/protobuf';
import type * as grpc from '@grpc/grpc-js';
import type { Counter } from 'prom-client';
import type { ServiceHandlers } from '../../common/grpc/adapter.ts';
import {
  type IntegrationService,
  ListNodesResponseSchema,
  type NodeStatus,
  NodeStatusSchema,
  type WatchEvent,
  WatchEventSchema,
} from '../../proto/gen/vigil/v1/integration_pb.js';
import type { Summary } from '../../proto/gen/vigil/v1/summary_pb.js';
import type { NodeRegistry, NodeState } from '../state/node-registry.ts';

export function nodeStatus(state: NodeState): NodeStatus {
  const r = state.record;
  return create(NodeStatusSchema, {
    node: r.node,
    connected: state.connected,
    lastSeenMs: BigInt(r.lastSeenMs),
    agentVersion: r.agentVersion,
    lastSeq: BigInt(r.lastSeq),
    batches: BigInt(r.batches),
    droppedBatches: BigInt(r.droppedBatches),
    rejectedBatches: BigInt(r.rejectedBatches),
    connectedSinceMs: BigInt(state.connectedSinceMs),
    info: r.info,
    latest: state.latest,
    signals: BigInt(r.signals),
  });
}

export function integrationHandlers(deps: {
  registry: NodeRegistry;
  watchSkipped: Counter;
}): ServiceHandlers<typeof IntegrationService> {
  const { registry } = deps;
  return {
    listNodes(_call, callback) {
      const nodes = registry
        .all()
        .map(nodeStatus)
        .sort((a, b) => a.node.localeCompare(b.node));
      callback(null, create(ListNodesResponseSchema, { nodes }));
    },

    watch(call: grpc.ServerWritableStream<unknown, WatchEvent>) {
      const only = new Set((call.request as { nodes: string[] }).nodes);
      const wanted = (node: string) => only.size === 0 || only.has(node);
      const push = (event: WatchEvent) => {
        if (call.writableNeedDrain) {
          deps.watchSkipped.inc();
          return;
        }
        call.write(event);
      };
      const onSummary = (node: string, _seq: number, summary: Summary) => {
        if (wanted(node)) push(create(WatchEventSchema, { event: { case: 'summary', value: summary } }));
      };
      const onNode = (state: NodeState) => {
        if (wanted(state.record.node))
          push(create(WatchEventSchema, { event: { case: 'node', value: nodeStatus(state) } }));
      };
      registry.on('summary', onSummary);
      registry.on('node', onNode);
      for (const state of registry.all()) onNode(state);
      const stop = () => {
        registry.off('summary', onSummary);
        registry.off('node', onNode);
      };
      call.on('cancelled', stop);
      call.on('close', stop);
      call.on('error', stop);
    },
  };
}
