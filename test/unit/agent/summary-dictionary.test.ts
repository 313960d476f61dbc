import { create, fromBinary, toBinary } from '@bufbuild/protobuf';
import { describe, expect, it } from 'vitest';
import { DigestAccumulator } from '../../../agent/summarize/digest.ts';
import { type DeliveryView, runsOf, SummaryDictionary } from '../../../agent/summarize/summary-dictionary.ts';
import { NodeDictionaries, UNRESOLVED_COUNTER } from '../../../aggregator/state/node-dictionaries.ts';
import { subjectToWire } from '../../../common/signal-wire.ts';
import { type MetricDigest, type Summary, SummarySchema } from '../../../proto/gen/vigil/v1/summary_pb.js';

const pod = { kind: 'container' as const, node: 'n1', namespace: 'shop', pod: 'api-1', container: 'api' };

/** One window: a noisy series, a flat one, a labelled one with a capacity. */
function window(flatValue = 7, capacity = 100): MetricDigest[] {
  const acc = new DigestAccumulator();
  for (let i = 0; i < 10; i++) {
    acc.add('container.memory.current_bytes', 1000 + i * 3, { subject: pod, capacity: 4096 });
    acc.add('container.pids.current', flatValue, { subject: pod });
    acc.add('node.fs.used_bytes', 42, { labels: { mount: '/' }, capacity });
  }
  return acc.drain();
}

const logs = () => [
  { subject: subjectToWire(pod), stream: 'container', lines: 3n, bytes: 120n, exemplars: ['x', 'y', 'x'] },
];

/** Agent and aggregator halves side by side, batches through the real encoding. */
function pair(epoch = 1) {
  let next = epoch;
  const agent = new SummaryDictionary({ epoch, nextEpoch: () => ++next });
  const agg = new NodeDictionaries();
  let seq = 0;
  const view: DeliveryView = { seq: 0, ackedSeq: 0, lastDroppedSeq: 0 };
  return {
    agent,
    agg,
    view,
    /** Encodes a window as batch `seq`; returns the wire bytes. */
    encode(metrics: MetricDigest[] = window()): Uint8Array {
      view.seq = ++seq;
      const packed = agent.pack(metrics, logs(), view);
      return toBinary(SummarySchema, create(SummarySchema, { node: 'n1', ...packed }));
    },
    deliver(bytes: Uint8Array): { summary: Summary; unresolved: number } {
      const summary = fromBinary(SummarySchema, bytes);
      const { unresolved } = agg.expand('n1', summary);
      return { summary, unresolved };
    },
    ack(upTo = seq) {
      view.ackedSeq = upTo;
    },
  };
}

const comparable = (ds: MetricDigest[]) =>
  ds
    .map((d) => ({
      name: d.name,
      subject: d.subject ? { ...d.subject } : undefined,
      labels: { ...d.labels },
      capacity: d.capacity,
      min: Math.fround(d.min),
      max: Math.fround(d.max),
      mean: Math.fround(d.mean),
      last: Math.fround(d.last),
      count: d.count,
    }))
    .sort((a, b) => a.name.localeCompare(b.name));

describe('summary dictionary', () => {
  it('gives the aggregator the same digests and log subjects as unpacked summaries', () => {
    const p = pair();
    const digests = window();
    const { summary, unresolved } = p.deliver(p.encode(digests));
    expect(unresolved).toBe(0);
    expect(comparable(summary.metrics)).toEqual(
      comparable(
        fromBinary(SummarySchema, toBinary(SummarySchema, create(SummarySchema, { metrics: digests })))
          .metrics,
      ),
    );
    expect(summary.logs[0]?.subject?.pod).toBe('api-1');
    expect(summary.logs[0]?.stream).toBe('container');
    // An exemplar repeated within a stream is sent once.
    expect(summary.logs[0]?.exemplars).toEqual(['x', 'y']);
  });

  it('sends definitions again in every batch until one carrying them is acked, then refs only', () => {
    const p = pair();
    const first = fromBinary(SummarySchema, p.encode());
    const second = fromBinary(SummarySchema, p.encode());
    expect(first.seriesDefs).toHaveLength(3);
    expect(second.seriesDefs).toHaveLength(3);
    expect(second.streamDefs).toHaveLength(1);
    p.ack();
    const third = fromBinary(SummarySchema, p.encode());
    expect(third.seriesDefs).toHaveLength(0);
    expect(third.streamDefs).toHaveLength(0);
    expect(third.logs[0]?.subject).toBeUndefined();
    expect(third.logs[0]?.streamRef).toBeGreaterThan(0);
  });

  it('leaves out flat series the aggregator already holds, and the aggregator fills them in', () => {
    const p = pair();
    p.deliver(p.encode());
    p.ack();
    const bytes = p.encode();
    const wire = fromBinary(SummarySchema, bytes);
    // Only the noisy series is listed; the two flat ones are one run of unchanged refs.
    expect(wire.packedMetrics?.refs).toHaveLength(1);
    expect(wire.packedMetrics?.unchanged).toEqual([2, 2]);
    const { summary, unresolved } = p.deliver(bytes);
    expect(unresolved).toBe(0);
    expect(comparable(summary.metrics)).toEqual(comparable(window()));
  });

  it('lists a flat series again when its value moves', () => {
    const p = pair();
    p.deliver(p.encode(window(7)));
    p.ack();
    const { summary } = p.deliver(p.encode(window(9)));
    expect(summary.metrics.find((d) => d.name === 'container.pids.current')?.last).toBe(9);
  });

  it('re-sends a definition whose capacity changed', () => {
    const p = pair();
    p.deliver(p.encode(window(7, 100)));
    p.ack();
    const wire = fromBinary(SummarySchema, p.encode(window(7, 200)));
    expect(wire.seriesDefs.map((d) => d.name)).toEqual(['node.fs.used_bytes']);
    const { summary } = p.deliver(toBinary(SummarySchema, wire));
    expect(summary.metrics.find((d) => d.name === 'node.fs.used_bytes')?.capacity).toBe(200);
  });

  it('re-sends definitions after a drop that may have taken the batch carrying them', () => {
    const p = pair();
    p.encode(); // seq 1 carries the definitions and is dropped at the outbox cap, never delivered
    p.encode(); // seq 2 carries them too, and is dropped as well
    // Seq 3 is encoded knowing of the drops (the outbox's lifetime totals) and carries them again.
    p.view.lastDroppedSeq = 2;
    const third = p.encode();
    expect(fromBinary(SummarySchema, third).seriesDefs).toHaveLength(3);
    const { unresolved } = p.deliver(third);
    expect(unresolved).toBe(0);
  });

  it('does not trust an ack over a dropped carrier', () => {
    const p = pair();
    p.encode(); // seq 1: definitions, dropped later
    p.ack(0);
    p.view.lastDroppedSeq = 1;
    p.ack(1); // a cumulative ack past the dropped sequence
    const bytes = p.encode();
    expect(fromBinary(SummarySchema, bytes).seriesDefs).toHaveLength(3);
    expect(p.deliver(bytes).unresolved).toBe(0);
  });

  it('re-sends what a refused batch carried', () => {
    const p = pair();
    p.encode();
    p.agent.refused(1);
    p.ack(1);
    expect(fromBinary(SummarySchema, p.encode()).seriesDefs).toHaveLength(3);
  });

  it('switches the aggregator to a new epoch when the agent starts over', () => {
    const p = pair();
    p.deliver(p.encode());
    p.ack();
    p.deliver(p.encode());
    p.agent.restart();
    expect(p.agent.epoch).toBe(2);
    const bytes = p.encode();
    const wire = fromBinary(SummarySchema, bytes);
    expect(wire.dictionaryEpoch).toBe(2);
    expect(wire.seriesDefs).toHaveLength(3);
    const { summary, unresolved } = p.deliver(bytes);
    expect(unresolved).toBe(0);
    expect(p.agg.epochOf('n1')).toBe(2);
    expect(comparable(summary.metrics)).toEqual(comparable(window()));
  });

  it('counts refs it cannot resolve, leaves them out and does not throw', () => {
    const p = pair();
    p.encode();
    p.ack(); // the agent believes seq 1 delivered, but this aggregator never saw it
    const { summary, unresolved } = p.deliver(p.encode());
    expect(unresolved).toBeGreaterThan(0);
    expect(summary.drops?.counters[UNRESOLVED_COUNTER]).toBe(BigInt(unresolved));
    expect(summary.logs).toHaveLength(0);
  });

  it('counts a run of unchanged refs longer than the dictionary without walking it', () => {
    const agg = new NodeDictionaries();
    const summary = create(SummarySchema, {
      node: 'n1',
      dictionaryEpoch: 1,
      packedMetrics: { count: 1, unchanged: [1, 4_000_000_000] },
    });
    expect(agg.expand('n1', summary).unresolved).toBe(4_000_000_000);
    expect(summary.metrics).toHaveLength(0);
  });

  it('starts a new epoch once forgotten series pile up', () => {
    let next = 1;
    const agent = new SummaryDictionary({
      epoch: 1,
      nextEpoch: () => ++next,
      forgetAfterWindows: 1,
      maxRetired: 5,
    });
    const view = { seq: 0, ackedSeq: 0, lastDroppedSeq: 0 };
    for (let w = 0; w < 10; w++) {
      const acc = new DigestAccumulator();
      acc.add(`short.lived_${w}`, 1);
      acc.add(`short.lived_${w}b`, 1);
      view.seq++;
      agent.pack(acc.drain(), [], view);
    }
    expect(agent.epoch).toBeGreaterThan(1);
    expect(agent.size.series).toBeLessThanOrEqual(4);
  });

  it('encodes unchanged refs as runs', () => {
    expect(runsOf([])).toEqual([]);
    expect(runsOf([2, 3, 4, 9, 11, 12])).toEqual([2, 3, 4, 1, 1, 2]);
  });
});
