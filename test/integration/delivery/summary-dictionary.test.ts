// The summary dictionary across restarts and drops (docs/summaries.md): real gRPC on loopback, real LMDB.
// Whatever happens, every summary the aggregator accepts resolves to full digests and log subjects.
import { fromBinary } from '@bufbuild/protobuf';
import { afterEach, describe, expect, it } from 'vitest';
import type { Agent } from '../../../agent/agent.ts';
import type { DropStats } from '../../../agent/buffer/outbox.ts';
import type { Aggregator } from '../../../aggregator/aggregator.ts';
import { UNRESOLVED_COUNTER } from '../../../aggregator/state/node-dictionaries.ts';
import { type Summary, SummarySchema } from '../../../proto/gen/vigil/v1/summary_pb.js';
import {
  agentConfig,
  aggregatorConfig,
  inProcessAgent,
  inProcessAggregator,
  tempDir,
} from '../../support/in-process.ts';
import { eventually, freePort } from '../../support/processes.ts';

const running: Array<{ stop(): Promise<void> }> = [];
afterEach(async () => {
  for (const r of running.splice(0).reverse()) await r.stop();
});

const container = {
  kind: 'container' as const,
  node: 'n1',
  namespace: 'shop',
  pod: 'api-1',
  container: 'api',
};

/** Window `w`: two flat series (sent once, then as unchanged runs) and a moving one; `extra` adds series. */
function fill(agent: Agent, w: number, extra = 0): void {
  for (let i = 0; i < 5; i++) {
    agent.digests.add('test.flat', 5, { labels: { k: 'a' } });
    agent.digests.add('container.pids.current', 9, { subject: container, capacity: 100 });
    agent.digests.add('test.moving', w + i);
    for (let x = 0; x < extra; x++) agent.digests.add(`test.extra_${x}`, w * x + i);
  }
}

/** What the aggregator's node view must hold after window `w`. */
function expectLatest(agg: Aggregator, node: string, w: number): void {
  const latest = agg.registry.get(node)!.latest;
  const flat = latest.find((d) => d.name === 'test.flat');
  const pids = latest.find((d) => d.name === 'container.pids.current');
  const moving = latest.find((d) => d.name === 'test.moving');
  expect(flat).toMatchObject({ min: 5, max: 5, mean: 5, last: 5, count: 5, labels: { k: 'a' } });
  expect(pids).toMatchObject({ last: 9, capacity: 100, count: 5 });
  expect(pids?.subject?.pod).toBe('api-1');
  expect(moving).toMatchObject({ min: w, max: w + 4, last: w + 4, count: 5 });
}

/** The wire form of every batch the agent writes (before it is sent). */
function captureWire(agent: Agent): Summary[] {
  const out: Summary[] = [];
  const append = agent.outbox.append.bind(agent.outbox);
  agent.outbox.append = (encode: (d: DropStats) => Uint8Array, opts) =>
    append((d) => {
      const bytes = encode(d);
      out.push(fromBinary(SummarySchema, bytes));
      return bytes;
    }, opts);
  return out;
}

/** Sums the unresolved-ref counter over every summary the aggregator accepts. */
function countUnresolved(agg: Aggregator): { unresolved: number; summaries: Summary[] } {
  const seen = { unresolved: 0, summaries: [] as Summary[] };
  agg.registry.on('summary', (_node, _seq, s) => {
    seen.summaries.push(s);
    seen.unresolved += Number(s.drops?.counters[UNRESOLVED_COUNTER] ?? 0n);
  });
  return seen;
}

async function windowAcked(agent: Agent, w: number, extra = 0): Promise<void> {
  fill(agent, w, extra);
  await agent.closeWindow();
  await eventually(() => agent.outbox.count === 0, 45_000, `window ${w} acked`);
}

describe('summary dictionary delivery', () => {
  it('an aggregator restarted on its state resolves refs defined before the restart', async () => {
    const port = await freePort();
    const stateDir = tempDir('agg-dict');
    let agg = await inProcessAggregator({ grpcPort: port, stateDir });
    const agent = await inProcessAgent(agentConfig('dict-agg', port, { shutdownGraceSeconds: 1 }));
    running.push(agent);
    const wire = captureWire(agent);
    await windowAcked(agent, 1);
    await windowAcked(agent, 2);
    await agg.stop();

    agg = await inProcessAggregator({ grpcPort: port, stateDir });
    running.unshift(agg);
    const seen = countUnresolved(agg);
    await windowAcked(agent, 3);
    // The batch after the restart carried refs only: the definitions came before the restart.
    const last = wire.at(-1)!;
    expect(last.seriesDefs).toHaveLength(0);
    expect(last.packedMetrics?.unchanged.length).toBeGreaterThan(0);
    expect(seen.summaries).toHaveLength(1);
    expect(seen.unresolved).toBe(0);
    expectLatest(agg, 'dict-agg', 3);
  });

  it('an agent whose aggregator lost its state starts a new epoch and defines everything again', async () => {
    const port = await freePort();
    let agg = await inProcessAggregator({ grpcPort: port, stateDir: tempDir('agg-dict') });
    const agent = await inProcessAgent(agentConfig('dict-lost', port, { shutdownGraceSeconds: 1 }));
    running.push(agent);
    const wire = captureWire(agent);
    await windowAcked(agent, 1);
    await windowAcked(agent, 2);
    expect(wire[1]!.seriesDefs).toHaveLength(0);
    await agg.stop();
    await eventually(() => !agent.connection.connected, 10_000, 'agent noticed the aggregator is gone');

    // A fresh aggregator on the same address: it holds no sequence and no dictionary of this node.
    agg = await inProcessAggregator({ grpcPort: port, stateDir: tempDir('agg-dict-fresh') });
    running.unshift(agg);
    const seen = countUnresolved(agg);
    await eventually(() => agent.connection.connected, 45_000, 'agent reconnected');
    await windowAcked(agent, 3);
    const last = wire.at(-1)!;
    expect(last.dictionaryEpoch).not.toBe(wire[0]!.dictionaryEpoch);
    expect(last.seriesDefs).toHaveLength(3);
    expect(seen.unresolved).toBe(0);
    expectLatest(agg, 'dict-lost', 3);
  });

  it('an agent whose own state was lost sends what it wrote meanwhile after the node’s history, not into it', async () => {
    const port = await freePort();
    const stateDir = tempDir('agg-dict');
    let agg = await inProcessAggregator({ grpcPort: port, stateDir });
    const first = await inProcessAgent(agentConfig('dict-wiped', port, { shutdownGraceSeconds: 1 }));
    for (let w = 1; w <= 3; w++) await windowAcked(first, w);
    await first.stop(); // its last window goes out as it stops
    const held = agg.registry.get('dict-wiped')!.record.lastSeq;
    expect(held).toBeGreaterThanOrEqual(3);
    await agg.stop();

    // The node comes back with an empty state directory while the aggregator is down: two windows wait,
    // numbered 1 and 2, sequences the aggregator already holds for this node.
    const agent = await inProcessAgent(agentConfig('dict-wiped', port, { shutdownGraceSeconds: 1 }));
    running.push(agent);
    for (let w = 4; w <= 5; w++) {
      fill(agent, w);
      await agent.closeWindow();
    }
    expect(agent.outbox.count).toBe(2);
    expect(agent.outbox.nextSeq).toBe(3);

    agg = await inProcessAggregator({ grpcPort: port, stateDir });
    running.unshift(agg);
    const seen = countUnresolved(agg);
    await eventually(
      () => agent.outbox.count === 0 && seen.summaries.length === 2,
      45_000,
      'both windows stored',
    );
    expect(agg.registry.get('dict-wiped')!.record.lastSeq).toBe(held + 2);
    expect(seen.unresolved).toBe(0);
    expectLatest(agg, 'dict-wiped', 5);
    // Numbering goes on after them, and a later window still resolves.
    await windowAcked(agent, 6);
    expect(agg.registry.get('dict-wiped')!.record.lastSeq).toBe(held + 3);
    expect(seen.unresolved).toBe(0);
    expectLatest(agg, 'dict-wiped', 6);
  });

  it('a restarted agent starts a new epoch, and batches of the old one replay and resolve', async () => {
    const port = await freePort();
    const stateDir = tempDir('agg-dict');
    const agentDir = tempDir('agent-dict');
    const config = agentConfig('dict-agent', port, { stateDir: agentDir, shutdownGraceSeconds: 0.2 });
    let agg = await inProcessAggregator({ grpcPort: port, stateDir });
    let agent = await inProcessAgent(config);
    const wire = captureWire(agent);
    await windowAcked(agent, 1);
    await agg.stop();
    // Aggregator down: two windows of the first epoch wait in the outbox, refs only.
    for (const w of [2, 3]) {
      fill(agent, w);
      await agent.closeWindow();
    }
    await agent.stop(); // its stop closes one more (empty) window
    const firstEpoch = wire[0]!.dictionaryEpoch;
    expect(wire.slice(1, 3).every((s) => s.seriesDefs.length === 0 && s.dictionaryEpoch === firstEpoch)).toBe(
      true,
    );

    agent = await inProcessAgent(config);
    running.push(agent);
    const wire2 = captureWire(agent);
    fill(agent, 4);
    await agent.closeWindow();
    expect(wire2[0]!.dictionaryEpoch).not.toBe(firstEpoch);
    expect(wire2[0]!.seriesDefs.length).toBeGreaterThan(0);

    agg = await inProcessAggregator({ grpcPort: port, stateDir });
    running.unshift(agg);
    const seen = countUnresolved(agg);
    await eventually(() => agent.outbox.count === 0, 45_000, 'outbox drained');
    expect(seen.summaries.length).toBeGreaterThanOrEqual(4);
    expect(seen.unresolved).toBe(0);
    const moving = seen.summaries.map((s) => s.metrics.find((d) => d.name === 'test.moving')?.last);
    expect(moving.filter((v) => v !== undefined)).toEqual([2 + 4, 3 + 4, 4 + 4]);
    expectLatest(agg, 'dict-agent', 4);
  });

  it('after outbox drops the agent defines again, and nothing that arrives is unresolvable', async () => {
    const port = await freePort();
    const stateDir = tempDir('agg-dict');
    let agg = await inProcessAggregator({ grpcPort: port, stateDir });
    const agent = await inProcessAgent(
      agentConfig('dict-drops', port, { outboxMaxBytes: 16 * 1024, shutdownGraceSeconds: 1 }),
    );
    running.push(agent);
    const wire = captureWire(agent);
    await windowAcked(agent, 1);
    await agg.stop();
    // Down: 40 new series appear; every batch carries their definitions (none acked), the oldest are dropped.
    for (let w = 2; w < 40; w++) {
      fill(agent, w, 40);
      await agent.closeWindow();
    }
    expect(agent.outbox.drops.droppedBatches).toBeGreaterThan(0);
    const kept = agent.outbox.read(0, 1000).map((b) => fromBinary(SummarySchema, b.summary));
    // The oldest batch still held carries the new definitions: the dropped ones' copies are not relied on.
    expect(kept[0]!.seriesDefs.length).toBeGreaterThanOrEqual(40);

    agg = await inProcessAggregator(aggregatorConfig({ grpcPort: port, stateDir }));
    running.unshift(agg);
    const seen = countUnresolved(agg);
    await eventually(() => agent.outbox.count === 0, 45_000, 'outbox drained');
    await windowAcked(agent, 40, 40);
    // After the drops are known and the re-definitions acked, windows go back to refs only.
    await windowAcked(agent, 41, 40);
    expect(wire.at(-1)!.seriesDefs).toHaveLength(0);
    expect(seen.unresolved).toBe(0);
    expect(agg.registry.get('dict-drops')!.record.droppedBatches).toBe(agent.outbox.drops.droppedBatches);
    expectLatest(agg, 'dict-drops', 41);
    expect(
      agg.registry.get('dict-drops')!.latest.filter((d) => d.name.startsWith('test.extra_')),
    ).toHaveLength(40);
  });
});
