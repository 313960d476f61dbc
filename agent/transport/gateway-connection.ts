// Streams the outbox to the aggregator over one bidirectional gRPC stream, and keeps doing so across
// aggregator restarts: reconnect with jittered exponential backoff, resume after the aggregator's last
// sequence, delete only what it acked. A peer that stops acking is treated as gone.
import { create } from '@bufbuild/protobuf';
import type * as grpc from '@grpc/grpc-js';
import { createClient, type ServiceClient } from '../../common/grpc/adapter.ts';
import { backoffDelay } from '../../common/grpc/backoff.ts';
import type { Logger } from '../../common/log.ts';
import {
  AgentGatewayService,
  type AgentMessage,
  AgentMessageSchema,
  type AggregatorMessage,
  type Command,
  type CommandResult,
  RejectReason,
} from '../../proto/gen/vigil/v1/gateway_pb.js';
import type { Outbox } from '../buffer/outbox.ts';

export interface ConnectionOptions {
  address: string;
  credentials: grpc.ChannelCredentials;
  node: string;
  agentVersion: string;
  instanceId: string;
  info?: Record<string, string>;
  outbox: Outbox;
  logger: Logger;
  /** Batches sent and not yet acked, at most. */
  maxInFlight?: number;
  backoffInitialMs?: number;
  backoffMaxMs?: number;
  /** A batch unacked this long means the peer is stuck: reconnect. */
  ackTimeoutMs?: number;
  onCommand?: (command: Command) => Promise<CommandResult>;
  onEvent?: (event: ConnectionEvent) => void;
}

export type ConnectionEvent =
  /** `renumbered`: the aggregator held sequences this agent never wrote; its pending batches moved after them. */
  | { type: 'connected'; aggregatorLastSeq: number; renumbered: number }
  | { type: 'disconnected'; reason: string }
  | { type: 'acked'; seq: number; latencyMs: number }
  | { type: 'rejected'; seq: number; reason: string };

type Stream = grpc.ClientDuplexStream<AgentMessage, AggregatorMessage>;

export class GatewayConnection {
  private readonly opts: Required<
    Pick<ConnectionOptions, 'maxInFlight' | 'backoffInitialMs' | 'backoffMaxMs' | 'ackTimeoutMs'>
  > &
    ConnectionOptions;
  private client: ServiceClient<typeof AgentGatewayService> | undefined;
  private stream: Stream | undefined;
  private welcomed = false;
  private lastSent = 0;
  /** Sent, unacked: sequence → time sent. */
  private readonly inFlight = new Map<number, number>();
  private attempt = 0;
  private reconnectTimer: NodeJS.Timeout | undefined;
  private ackTimer: NodeJS.Timeout | undefined;
  private stopped = false;
  private pumping = false;
  private drainWaiters: Array<() => void> = [];

  constructor(opts: ConnectionOptions) {
    this.opts = {
      maxInFlight: 64,
      backoffInitialMs: 250,
      backoffMaxMs: 30_000,
      ackTimeoutMs: 30_000,
      ...opts,
    };
  }

  get connected(): boolean {
    return this.welcomed;
  }

  start(): void {
    this.client = createClient(AgentGatewayService, this.opts.address, this.opts.credentials, {
      'grpc.keepalive_time_ms': 30_000,
      'grpc.keepalive_timeout_ms': 10_000,
      'grpc.max_receive_message_length': 16 * 1024 * 1024,
    });
    this.connect();
  }

  /** A new batch is in the outbox. */
  notify(): void {
    this.pump();
  }

  /** Waits until everything in the outbox is acked, or `timeoutMs` passes. */
  async drain(timeoutMs: number): Promise<boolean> {
    if (this.opts.outbox.count === 0) return true;
    return new Promise<boolean>((resolve) => {
      const timer = setTimeout(() => resolve(false), timeoutMs);
      this.drainWaiters.push(() => {
        clearTimeout(timer);
        resolve(true);
      });
    });
  }

  async stop(): Promise<void> {
    this.stopped = true;
    clearTimeout(this.reconnectTimer);
    clearTimeout(this.ackTimer);
    this.stream?.end();
    this.stream = undefined;
    this.client?.close();
  }

  private connect(): void {
    if (this.stopped || !this.client) return;
    const stream = this.client.connect();
    this.stream = stream;
    this.welcomed = false;
    this.inFlight.clear();
    stream.on('data', (msg: AggregatorMessage) => {
      this.onMessage(stream, msg).catch((error: unknown) => {
        this.opts.logger.error({ err: error }, 'handling an aggregator message failed');
        this.disconnect(stream, `local error: ${(error as Error).message}`);
      });
    });
    stream.on('error', (error: grpc.ServiceError) => this.disconnect(stream, error.details || error.message));
    stream.on('end', () => this.disconnect(stream, 'aggregator ended the stream'));
    stream.write(
      create(AgentMessageSchema, {
        msg: {
          case: 'hello',
          value: {
            node: this.opts.node,
            agentVersion: this.opts.agentVersion,
            lastAckedSeq: BigInt(this.opts.outbox.ackedSeq),
            instanceId: this.opts.instanceId,
            info: this.opts.info ?? {},
          },
        },
      }),
    );
  }

  private disconnect(stream: Stream, reason: string): void {
    if (stream !== this.stream) return;
    this.stream = undefined;
    const wasConnected = this.welcomed;
    this.welcomed = false;
    this.inFlight.clear();
    clearTimeout(this.ackTimer);
    stream.removeAllListeners('data');
    stream.on('error', () => {});
    stream.cancel();
    if (this.stopped) return;
    const delay = backoffDelay(this.attempt++, this.opts.backoffInitialMs, this.opts.backoffMaxMs);
    if (wasConnected || this.attempt === 1) {
      this.opts.logger.warn({ reason, retryInMs: delay }, 'aggregator connection lost; reconnecting');
    } else {
      this.opts.logger.debug({ reason, retryInMs: delay, attempt: this.attempt }, 'aggregator unreachable');
    }
    this.opts.onEvent?.({ type: 'disconnected', reason });
    this.reconnectTimer = setTimeout(() => this.connect(), delay);
  }

  private async onMessage(stream: Stream, msg: AggregatorMessage): Promise<void> {
    switch (msg.msg.case) {
      case 'welcome': {
        const last = Number(msg.msg.value.lastAckedSeq);
        let renumbered = 0;
        if (last >= this.opts.outbox.nextSeq) {
          // The aggregator holds sequences this outbox never wrote: our state was lost, the node's history was
          // not. Taking `last` for an ack would delete every batch written since, unsent.
          renumbered = await this.opts.outbox.renumberAfter(last);
          this.opts.logger.warn(
            { aggregatorLastSeq: last, renumbered },
            'the aggregator holds sequences this agent never wrote (its state was lost); pending batches follow them',
          );
        } else if (last > this.opts.outbox.ackedSeq) {
          // The aggregator already holds everything up to `last` (its acks may have been lost with us).
          await this.opts.outbox.ack(last);
        }
        this.lastSent = last;
        this.welcomed = true;
        this.attempt = 0;
        this.opts.logger.info(
          { aggregatorLastSeq: last, pending: this.opts.outbox.count },
          'connected to aggregator',
        );
        this.opts.onEvent?.({ type: 'connected', aggregatorLastSeq: last, renumbered });
        this.pump();
        return;
      }
      case 'ack': {
        const seq = Number(msg.msg.value.seq);
        const now = Date.now();
        for (const [s, sentAt] of this.inFlight) {
          if (s > seq) continue;
          this.inFlight.delete(s);
          if (s === seq) this.opts.onEvent?.({ type: 'acked', seq, latencyMs: now - sentAt });
        }
        await this.opts.outbox.ack(seq);
        this.armAckTimer(stream);
        if (this.opts.outbox.count === 0) for (const w of this.drainWaiters.splice(0)) w();
        this.pump();
        return;
      }
      case 'reject': {
        const { reason, message } = msg.msg.value;
        const seq = Number(msg.msg.value.seq);
        this.opts.logger.error(
          { seq, reason: RejectReason[reason], message },
          'aggregator rejected a batch; it will not be retried',
        );
        this.opts.onEvent?.({ type: 'rejected', seq, reason: message });
        return;
      }
      case 'command': {
        const command = msg.msg.value;
        const handler = this.opts.onCommand;
        if (!handler) return;
        const result = await handler(command);
        if (stream === this.stream)
          stream.write(create(AgentMessageSchema, { msg: { case: 'commandResult', value: result } }));
        return;
      }
      default:
        return;
    }
  }

  private armAckTimer(stream: Stream): void {
    clearTimeout(this.ackTimer);
    if (this.inFlight.size === 0) return;
    this.ackTimer = setTimeout(
      () => this.disconnect(stream, `no ack for ${this.opts.ackTimeoutMs} ms`),
      this.opts.ackTimeoutMs,
    );
  }

  /** Sends stored batches after the last one sent, up to the in-flight limit. */
  private pump(): void {
    const stream = this.stream;
    if (!stream || !this.welcomed || this.pumping) return;
    this.pumping = true;
    try {
      const wasIdle = this.inFlight.size === 0;
      const room = this.opts.maxInFlight - this.inFlight.size;
      if (room <= 0) return;
      const batches = this.opts.outbox.read(this.lastSent, room);
      for (const b of batches) {
        stream.write(
          create(AgentMessageSchema, {
            msg: {
              case: 'batch',
              value: {
                seq: BigInt(b.seq),
                // The outbox is only ever cut by acks and by cap drops, so a hole before b was dropped.
                droppedBefore: BigInt(b.seq - this.lastSent - 1),
                summary: b.summary,
                createdMs: BigInt(Math.round(b.createdMs)),
              },
            },
          }),
        );
        this.inFlight.set(b.seq, Date.now());
        this.lastSent = b.seq;
      }
      // Acks re-arm the timer while batches are in flight; the first batch after a quiet spell arms it here.
      if (wasIdle && batches.length > 0) this.armAckTimer(stream);
    } finally {
      this.pumping = false;
    }
  }
}
