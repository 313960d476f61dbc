// Bad peers get a clear error or a counted rejection, and the aggregator keeps serving everyone else.
import { connect } from 'node:net';
import { create, type MessageInitShape, toBinary } from '@bufbuild/protobuf';
import * as grpc from '@grpc/grpc-js';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Agent } from '../../../agent/agent.ts';
import type { Aggregator } from '../../../aggregator/aggregator.ts';
import { createClient } from '../../../common/grpc/adapter.ts';
import {
  AgentGatewayService,
  AgentMessageSchema,
  type AggregatorMessage,
  RejectReason,
} from '../../../proto/gen/vigil/v1/gateway_pb.js';
import { SummarySchema } from '../../../proto/gen/vigil/v1/summary_pb.js';
import { agentConfig, inProcessAgent, inProcessAggregator } from '../../support/in-process.ts';
import { eventually } from '../../support/processes.ts';

let agg: Aggregator;
let healthy: Agent;
let address: string;

beforeAll(async () => {
  agg = await inProcessAggregator();
  address = `127.0.0.1:${agg.grpcPort}`;
  healthy = await inProcessAgent(agentConfig('healthy', agg.grpcPort));
  await healthy.closeWindow();
  await eventually(() => healthy.outbox.count === 0, 10_000, 'healthy agent acked');
});

afterAll(async () => {
  await healthy.stop();
  await agg.stop();
});

/** The healthy agent's next window is still stored and acked. */
async function healthyStillServed() {
  const before = agg.registry.get('healthy')!.record.batches;
  await healthy.closeWindow();
  await eventually(() => healthy.outbox.count === 0, 10_000, 'healthy agent acked');
  expect(agg.registry.get('healthy')!.record.batches).toBe(before + 1);
}

/** A hand-driven agent stream: what it received and how it ended. */
function rawStream() {
  const client = createClient(AgentGatewayService, address);
  const call = client.connect();
  const received: AggregatorMessage[] = [];
  const ended = new Promise<grpc.StatusObject>((resolve) => {
    call.on('data', (m: AggregatorMessage) => received.push(m));
    call.on('status', resolve);
    call.on('error', () => {});
  });
  const send = (msg: MessageInitShape<typeof AgentMessageSchema>['msg']) =>
    call.write(create(AgentMessageSchema, { msg } as MessageInitShape<typeof AgentMessageSchema>));
  return { client, call, received, ended, send };
}

const summaryBytes = (node: string) => toBinary(SummarySchema, create(SummarySchema, { node }));

describe('aggregator under bad input', () => {
  it('survives garbage bytes on the gRPC port', async () => {
    await new Promise<void>((resolve) => {
      const socket = connect(agg.grpcPort, '127.0.0.1', () => {
        socket.write(Buffer.from('GET / HTTP/1.1\r\n\r\n\x00\xff\xfe garbage \x13\x37'.repeat(50), 'latin1'));
      });
      socket.on('error', () => resolve());
      socket.on('close', () => resolve());
      socket.resume();
    });
    await healthyStillServed();
  });

  it('ends a stream that sends an invalid protobuf frame with INVALID_ARGUMENT, and counts it', async () => {
    const raw = new grpc.Client(address, grpc.credentials.createInsecure());
    const call = raw.makeBidiStreamRequest(
      '/vigil.v1.AgentGatewayService/Connect',
      (b: Buffer) => b,
      (b: Buffer) => b,
    );
    const status = await new Promise<grpc.StatusObject>((resolve) => {
      call.on('status', resolve);
      call.on('error', () => {});
      call.on('data', () => {});
      call.write(Buffer.from([0x12, 0xff, 0xff, 0xff, 0x0f, 0x01])); // field 2 claims a huge length
    });
    raw.close();
    expect(status.code).toBe(grpc.status.INVALID_ARGUMENT);
    expect(status.details).toMatch(/invalid vigil\.v1\.AgentMessage/);
    await healthyStillServed();
  });

  it('refuses a hello with an empty node name', async () => {
    const s = rawStream();
    s.send({ case: 'hello', value: { node: '', agentVersion: 'x' } });
    const status = await s.ended;
    s.client.close();
    expect(status.code).toBe(grpc.status.INVALID_ARGUMENT);
    expect(status.details).toBe('hello.node is empty: an agent must name its node');
  });

  it('acks a replayed sequence without counting it, and refuses an unexplained jump into the future', async () => {
    const s = rawStream();
    s.send({ case: 'hello', value: { node: 'liar', agentVersion: 'x' } });
    for (const seq of [1n, 2n, 3n]) s.send({ case: 'batch', value: { seq, summary: summaryBytes('liar') } });
    await eventually(() => agg.registry.get('liar')?.record.batches === 3, 10_000, 'three batches');
    s.send({ case: 'batch', value: { seq: 2n, summary: summaryBytes('liar') } }); // from the past
    await eventually(
      () => s.received.filter((m) => m.msg.case === 'ack').length === 4,
      10_000,
      'duplicate acked',
    );
    const lastAck = s.received.filter((m) => m.msg.case === 'ack').at(-1)!;
    expect(lastAck.msg.value).toMatchObject({ seq: 3n });
    expect(agg.registry.get('liar')!.record.batches).toBe(3);

    s.send({
      case: 'batch',
      value: { seq: 1_000_000_000n, droppedBefore: 0n, summary: summaryBytes('liar') },
    });
    const status = await s.ended;
    s.client.close();
    const reject = s.received.find((m) => m.msg.case === 'reject');
    expect(reject?.msg.value).toMatchObject({ reason: RejectReason.SEQUENCE_GAP });
    expect(status.code).toBe(grpc.status.FAILED_PRECONDITION);
    expect(status.details).toMatch(/jumps 999999996 past the last stored 3/);
    expect(agg.registry.get('liar')!.record.lastSeq).toBe(3);
    await healthyStillServed();
  });

  it('refuses a batch whose summary does not decode, counts it and moves on', async () => {
    const s = rawStream();
    s.send({ case: 'hello', value: { node: 'garbled', agentVersion: 'x' } });
    s.send({ case: 'batch', value: { seq: 1n, summary: new Uint8Array([0x0a, 0xff, 0x01]) } });
    s.send({ case: 'batch', value: { seq: 2n, summary: summaryBytes('garbled') } });
    await eventually(() => s.received.filter((m) => m.msg.case === 'ack').length === 2, 10_000, 'both acked');
    s.call.end();
    await s.ended;
    s.client.close();
    const reject = s.received.find((m) => m.msg.case === 'reject');
    expect(reject?.msg.value).toMatchObject({ seq: 1n, reason: RejectReason.INVALID_SUMMARY });
    expect(agg.registry.get('garbled')!.record).toMatchObject({ batches: 1, rejectedBatches: 1, lastSeq: 2 });
    await healthyStillServed();
  });
});
