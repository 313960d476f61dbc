// The agent gateway: one bidirectional stream per agent. Validates the hello, judges every batch's sequence
// (duplicates are acked but never counted twice; unexplained jumps are refused), stores accepted summaries
// and acks only after they are committed. Bad input gets a clear status or a counted rejection; other
// agents' streams are never affected.
import { create, fromBinary, type MessageInitShape, toBinary } from '@bufbuild/protobuf';
import * as grpc from '@grpc/grpc-js';
import { MalformedMessage, type ServiceHandlers } from '../../common/grpc/adapter.ts';
import type { Logger } from '../../common/log.ts';
import { VERSION } from '../../common/version.ts';
import {
  type AgentGatewayService,
  type AgentMessage,
  type AggregatorMessage,
  AggregatorMessageSchema,
  type Batch,
  type CommandResult,
  RejectReason,
} from '../../proto/gen/vigil/v1/gateway_pb.js';
import { type Summary, SummarySchema } from '../../proto/gen/vigil/v1/summary_pb.js';
import { type Expansion, NodeDictionaries } from '../state/node-dictionaries.ts';
import type { NodeRegistry } from '../state/node-registry.ts';
import type { AggregatorStore, NodeRecord } from '../store/aggregator-store.ts';
import type { GatewayMetrics } from './gateway-metrics.ts';

/** DNS-1123 subdomain, what Kubernetes allows as a node name. */
const NODE_NAME = /^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$/;

export interface GatewayDeps {
  registry: NodeRegistry;
  store: AggregatorStore;
  logger: Logger;
  metrics: GatewayMetrics;
  maxBatchBytes: number;
  onCommandResult?: (node: string, result: CommandResult) => void;
  /** Registers the live stream of a node so commands can be sent to it. */
  onSession?: (node: string, send: ((msg: AggregatorMessage) => boolean) | undefined) => void;
}

type Call = grpc.ServerDuplexStream<AgentMessage | MalformedMessage, AggregatorMessage>;

function endWithStatus(call: Call, code: grpc.status, details: string): void {
  call.emit('error', { code, details });
}

function reply(msg: MessageInitShape<typeof AggregatorMessageSchema>['msg']): AggregatorMessage {
  return create(AggregatorMessageSchema, { msg } as MessageInitShape<typeof AggregatorMessageSchema>);
}

export function gatewayHandlers(deps: GatewayDeps): ServiceHandlers<typeof AgentGatewayService> {
  const { registry, store, logger, metrics } = deps;
  // Packed summaries refer to per-node definitions sent in earlier batches (docs/summaries.md).
  const dictionaries = new NodeDictionaries(store.root);

  return {
    connect(call: Call) {
      const peer = call.getPeer();
      let node: string | undefined;
      let sessionId = 0;
      let closed = false;
      // Acks go out in order, each after its batch's commit.
      let tail: Promise<unknown> = Promise.resolve();

      const fail = (code: grpc.status, details: string) => {
        if (closed) return;
        closed = true;
        logger.warn({ peer, node, code: grpc.status[code], details }, 'ending agent stream');
        endWithStatus(call, code, details);
      };
      const send = (msg: AggregatorMessage): boolean => {
        if (closed) return false;
        call.write(msg);
        return true;
      };

      call.on('data', (msg: AgentMessage | MalformedMessage) => {
        if (closed) return;
        if (msg instanceof MalformedMessage) {
          metrics.malformed.inc();
          // Which batch it was is unknowable; ending the stream makes the agent resend from its last ack.
          fail(grpc.status.INVALID_ARGUMENT, msg.message);
          return;
        }
        switch (msg.msg.case) {
          case 'hello': {
            if (node) return fail(grpc.status.FAILED_PRECONDITION, 'hello sent twice on one stream');
            const hello = msg.msg.value;
            if (!hello.node) {
              metrics.badHello.inc();
              return fail(grpc.status.INVALID_ARGUMENT, 'hello.node is empty: an agent must name its node');
            }
            if (hello.node.length > 253 || !NODE_NAME.test(hello.node)) {
              metrics.badHello.inc();
              return fail(
                grpc.status.INVALID_ARGUMENT,
                `hello.node ${JSON.stringify(hello.node.slice(0, 80))} is not a valid node name`,
              );
            }
            node = hello.node;
            const session = registry.connect(node, hello.agentVersion, hello.info, Date.now());
            sessionId = session.sessionId;
            deps.onSession?.(node, send);
            logger.info(
              {
                node,
                peer,
                agentVersion: hello.agentVersion,
                lastSeq: session.lastSeq,
                agentAcked: Number(hello.lastAckedSeq),
              },
              'agent connected',
            );
            call.write(
              reply({
                case: 'welcome',
                value: {
                  lastAckedSeq: BigInt(session.lastSeq),
                  aggregatorVersion: VERSION,
                  newNode: session.isNew,
                },
              }),
            );
            return;
          }
          case 'batch': {
            if (!node) return fail(grpc.status.FAILED_PRECONDITION, 'batch before hello');
            onBatch(node, msg.msg.value);
            return;
          }
          case 'commandResult': {
            if (!node) return fail(grpc.status.FAILED_PRECONDITION, 'command result before hello');
            deps.onCommandResult?.(node, msg.msg.value);
            return;
          }
          default:
            return fail(grpc.status.INVALID_ARGUMENT, 'empty agent message');
        }
      });

      const onBatch = (node: string, batch: Batch) => {
        const received = process.hrtime.bigint();
        const seq = Number(batch.seq);
        const verdict = registry.judge(node, seq, Number(batch.droppedBefore));
        if (verdict.kind === 'invalid') {
          metrics.batches.inc({ result: 'invalid_sequence' });
          send(
            reply({
              case: 'reject',
              value: { seq: batch.seq, reason: RejectReason.SEQUENCE_GAP, message: verdict.reason },
            }),
          );
          return fail(grpc.status.FAILED_PRECONDITION, verdict.reason);
        }
        if (verdict.kind === 'duplicate') {
          metrics.batches.inc({ result: 'duplicate' });
          const last = BigInt(registry.get(node)?.record.lastSeq ?? seq);
          tail = tail.then(() => send(reply({ case: 'ack', value: { seq: last } })));
          return;
        }
        let summary: Summary | undefined;
        let refusal: { reason: RejectReason; message: string } | undefined;
        if (batch.summary.length > deps.maxBatchBytes) {
          refusal = {
            reason: RejectReason.TOO_LARGE,
            message: `batch ${seq} is ${batch.summary.length} bytes, over the ${deps.maxBatchBytes} limit`,
          };
        } else {
          try {
            summary = fromBinary(SummarySchema, batch.summary);
          } catch (error) {
            refusal = {
              reason: RejectReason.INVALID_SUMMARY,
              message: `batch ${seq}: invalid vigil.v1.Summary: ${(error as Error).message}`,
            };
          }
        }
        let expansion: Expansion | undefined;
        if (summary) {
          try {
            expansion = dictionaries.expand(node, summary);
          } catch (error) {
            // Never seen; if it happens the batch is kept as it came (packed) and counted, not a crash.
            logger.error({ err: error, node, seq }, 'could not expand a summary; stored as it came');
            expansion = { unresolved: 1, unresolvedTemplates: 0, persist: () => {} };
          }
          if (expansion.unresolved > 0) {
            metrics.unresolvedRefs.inc(expansion.unresolved);
            logger.warn(
              { node, seq, epoch: summary.dictionaryEpoch, unresolved: expansion.unresolved },
              'summary refers to dictionary entries this aggregator does not hold; those digests and log streams are left out',
            );
          }
          if (expansion.unresolvedTemplates > 0) {
            metrics.unresolvedRefs.inc(expansion.unresolvedTemplates);
            logger.warn(
              { node, seq, epoch: summary.dictionaryEpoch, unresolved: expansion.unresolvedTemplates },
              'summary counts log templates whose text this aggregator does not hold; the counts are kept unnamed',
            );
          }
        }
        const before: NodeRecord = { ...registry.get(node)!.record };
        const record = registry.advance(node, seq, Date.now(), summary);
        if (refusal) {
          metrics.batches.inc({ result: 'rejected' });
          logger.warn({ node, seq, reason: refusal.message }, 'refused a batch');
          send(reply({ case: 'reject', value: { seq: batch.seq, ...refusal } }));
        }
        // Stored expanded: a stored summary reads on its own, without the dictionary state of its time.
        const stored =
          summary && summary.dictionaryEpoch !== 0 ? toBinary(SummarySchema, summary) : batch.summary;
        const write = store.writeBatch(record, seq, summary ? stored : undefined, expansion?.persist);
        tail = tail
          .then(() => write)
          .then(
            () => {
              if (summary) {
                metrics.batches.inc({ result: 'accepted' });
                registry.emit('summary', node, seq, summary);
              }
              send(reply({ case: 'ack', value: { seq: batch.seq } }));
              metrics.ackSeconds.observe(Number(process.hrtime.bigint() - received) / 1e9);
            },
            (error: unknown) => {
              registry.restore(before);
              metrics.storeErrors.inc();
              logger.error({ err: error, node, seq }, 'could not store a batch; the agent will resend it');
              fail(
                grpc.status.UNAVAILABLE,
                `aggregator could not store batch ${seq}: ${(error as Error).message}`,
              );
            },
          );
      };

      const onGone = () => {
        closed = true;
        if (node) {
          registry.disconnect(node, sessionId);
          deps.onSession?.(node, undefined);
          logger.info({ node, peer }, 'agent disconnected');
        }
      };
      call.on('end', () => {
        onGone();
        call.end();
      });
      call.on('cancelled', onGone);
      call.on('error', onGone);
    },
  };
}
