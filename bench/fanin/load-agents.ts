// A load generator process: `count` simulated agents, each a real gRPC client with its own connection,
// speaking the real agent protocol (hello, batches with sequence numbers, acks). Each sends one realistic
// summary per second. Protocol on stdout: {"ready":n} once all are welcomed, then {"result":…} after
// `measureMs` of measuring (after the parent writes a line to stdin), with ack latencies in milliseconds.
import { create, toBinary } from '@bufbuild/protobuf';
import * as grpc from '@grpc/grpc-js';
import { createClient } from '../../common/grpc/adapter.ts';
import {
  AgentGatewayService,
  AgentMessageSchema,
  type AggregatorMessage,
} from '../../proto/gen/vigil/v1/gateway_pb.js';
import { SummarySchema } from '../../proto/gen/vigil/v1/summary_pb.js';

const [address, countArg, prefix, measureArg] = process.argv.slice(2);
const count = Number(countArg);
const measureMs = Number(measureArg);

function summaryFor(node: string): Uint8Array {
  const now = BigInt(Date.now());
  return toBinary(
    SummarySchema,
    create(SummarySchema, {
      node,
      windowStartMs: now - 1000n,
      windowEndMs: now,
      metrics: Array.from({ length: 24 }, (_, i) => ({
        name: `node.series_${i}`,
        min: i,
        max: i * 2,
        mean: i * 1.5,
        last: i,
        count: 10,
      })),
      logs: [
        {
          subject: { kind: 3, namespace: 'shop', pod: `${node}-api`, container: 'api' },
          stream: 'stdout',
          counts: Array.from({ length: 8 }, (_, i) => ({ templateId: `t${i}`, count: 10 + i })),
          lines: 200n,
          bytes: 24000n,
        },
      ],
    }),
  );
}

interface Sim {
  node: string;
  seq: number;
  sent: Map<number, number>;
  stream: grpc.ClientDuplexStream<never, AggregatorMessage>;
}

const latencies: number[] = [];
let measuring = false;
let acked = 0;
let sentTotal = 0;
let welcomed = 0;
const sims: Sim[] = [];

function startSim(i: number): Sim {
  const node = `${prefix}-${i}`;
  // A local subchannel pool gives every simulated agent its own TCP connection, as real agents have.
  const client = createClient(AgentGatewayService, address!, grpc.credentials.createInsecure(), {
    'grpc.use_local_subchannel_pool': 1,
  });
  const stream = client.connect() as unknown as grpc.ClientDuplexStream<never, AggregatorMessage>;
  const sim: Sim = { node, seq: 0, sent: new Map(), stream };
  stream.on('data', (m: AggregatorMessage) => {
    if (m.msg.case === 'welcome') {
      sim.seq = Number(m.msg.value.lastAckedSeq);
      welcomed++;
    } else if (m.msg.case === 'ack') {
      const seq = Number(m.msg.value.seq);
      const t = sim.sent.get(seq);
      sim.sent.delete(seq);
      if (t !== undefined && measuring) {
        latencies.push(performance.now() - t);
        acked++;
      }
    }
  });
  stream.on('error', (e) => process.stderr.write(`${node}: ${e.message}\n`));
  stream.write(
    create(AgentMessageSchema, { msg: { case: 'hello', value: { node, agentVersion: 'bench' } } }) as never,
  );
  return sim;
}

for (let i = 0; i < count; i++) {
  sims.push(startSim(i));
  if (i % 200 === 199) await new Promise((r) => setTimeout(r, 50)); // ramp connections
}
while (welcomed < count) await new Promise((r) => setTimeout(r, 50));
process.stdout.write(`${JSON.stringify({ ready: count })}\n`);
// All generators start sending together: wait for the parent's "go" line.
await new Promise<void>((resolve) => process.stdin.once('data', () => resolve()));

// Every agent sends once a second, phases spread evenly over the second; a late tick catches up, so the
// offered rate stays exactly one batch per agent per second while the generator keeps up.
const payloads = sims.map((s) => summaryFor(s.node));
const start = performance.now();
const nextAt = sims.map((_, k) => start + (k * 1000) / count);
const timer = setInterval(() => {
  const now = performance.now();
  for (let k = 0; k < count; k++) {
    while (nextAt[k]! <= now) {
      send(k);
      nextAt[k]! += 1000;
    }
  }
}, 5);

function send(k: number) {
  const s = sims[k]!;
  s.seq++;
  s.sent.set(s.seq, performance.now());
  if (measuring) sentTotal++;
  s.stream.write(
    create(AgentMessageSchema, {
      msg: {
        case: 'batch',
        value: { seq: BigInt(s.seq), summary: payloads[k]!, createdMs: BigInt(Date.now()) },
      },
    }) as never,
  );
}

await new Promise((r) => setTimeout(r, 2000)); // warm-up
measuring = true;
const t0 = performance.now();
await new Promise((r) => setTimeout(r, measureMs));
measuring = false;
const elapsed = (performance.now() - t0) / 1000;
clearInterval(timer);
process.stdout.write(`${JSON.stringify({ result: { sent: sentTotal, acked, elapsed, latencies } })}\n`);
for (const s of sims) s.stream.cancel();
setTimeout(() => process.exit(0), 200);
