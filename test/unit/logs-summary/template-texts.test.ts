// Template texts, packed counts and exemplars between the agent's summary dictionary and the aggregator's
// (docs/summaries.md), batches through the real encoding.
import { create, fromBinary, toBinary } from '@bufbuild/protobuf';
import { describe, expect, it } from 'vitest';
import {
  EXEMPLAR_EVERY_WINDOWS,
  EXEMPLAR_MAX_CHARS,
  type LogStreamWindow,
} from '../../../agent/summarize/stream-templates.ts';
import { type DeliveryView, SummaryDictionary } from '../../../agent/summarize/summary-dictionary.ts';
import {
  NodeDictionaries,
  UNRESOLVED_TEMPLATES_COUNTER,
} from '../../../aggregator/state/node-dictionaries.ts';
import { packCounts, unpackCounts } from '../../../common/packed-counts.ts';
import { subjectToWire } from '../../../common/signal-wire.ts';
import { lineOf, paramsOf } from '../../../common/template-exemplars.ts';
import { type Summary, SummarySchema } from '../../../proto/gen/vigil/v1/summary_pb.js';

const pod = { kind: 'container' as const, node: 'n1', namespace: 'shop', pod: 'api-1', container: 'api' };
const ACCESS = 'GET /api/orders/<*> 200 <*>ms';
const FAILURE = '<*> ERROR payment <*> failed: connection refused to <*>';

/** A stream window counting the given templates (id → count), each with its first line as a sample. */
function stream(counts: Record<string, number>, texts: Record<string, string> = {}): LogStreamWindow {
  const ids = Object.keys(counts);
  const text = (id: string) => texts[id] ?? (id === 't2' ? FAILURE : `${ACCESS} ${id}`);
  return {
    subject: subjectToWire(pod),
    stream: 'container',
    templates: ids.map((id) => ({ id, text: text(id) })),
    counts: ids.map((id) => ({ templateId: id, count: counts[id]! })),
    samples: ids.map((id) => ({ templateId: id, line: `line of ${id}`, error: text(id).includes('ERROR') })),
    lines: BigInt(ids.reduce((n, id) => n + counts[id]!, 0)),
    bytes: 999n,
  };
}

function pair() {
  let next = 1;
  const agent = new SummaryDictionary({ epoch: 1, nextEpoch: () => ++next });
  const agg = new NodeDictionaries();
  const view: DeliveryView = { seq: 0, ackedSeq: 0, lastDroppedSeq: 0 };
  return {
    agent,
    agg,
    view,
    /** Packs a window as the next batch and returns its wire form. */
    send(...logs: LogStreamWindow[]): Summary {
      view.seq++;
      const packed = agent.pack([], logs, view);
      return fromBinary(
        SummarySchema,
        toBinary(SummarySchema, create(SummarySchema, { node: 'n1', ...packed })),
      );
    },
    /** The aggregator expands a wire summary (a copy: the wire form stays inspectable). */
    deliver(wire: Summary): Summary {
      const s = fromBinary(SummarySchema, toBinary(SummarySchema, wire));
      agg.expand('n1', s);
      return s;
    },
    ack() {
      view.ackedSeq = view.seq;
    },
  };
}

const texts = (s: Summary) => s.logs.flatMap((l) => l.templates.map((t) => t.id)).sort();
const unresolvedTemplates = (s: Summary) => Number(s.drops?.counters[UNRESOLVED_TEMPLATES_COUNTER] ?? 0n);

describe('template texts', () => {
  it('are sent until a batch carrying them is acked, then counts go by id alone and the aggregator names them', () => {
    const p = pair();
    const first = p.send(stream({ t1: 5, t2: 2 }));
    expect(texts(first)).toEqual(['t1', 't2']);
    const second = p.send(stream({ t1: 5 }));
    expect(texts(second)).toEqual(['t1']); // not acked yet: again
    p.deliver(first);
    p.deliver(second);
    p.ack();
    const third = p.send(stream({ t1: 4, t2: 1 }));
    expect(texts(third)).toEqual([]);
    // Packed counts, no plain ones; lines left to the aggregator (they equal the counts' sum).
    expect(third.logs[0]!.counts).toEqual([]);
    expect(third.logs[0]!.packedCounts).toEqual([1, 4, 1, 1]);
    expect(third.logs[0]!.lines).toBe(0n);

    const expanded = p.deliver(third);
    const l = expanded.logs[0]!;
    expect(l.subject?.pod).toBe('api-1');
    expect(l.lines).toBe(5n);
    expect(l.bytes).toBe(999n);
    expect(l.counts.map((c) => [c.templateId, c.count])).toEqual([
      ['t1', 4],
      ['t2', 1],
    ]);
    expect(Object.fromEntries(l.templates.map((t) => [t.id, t.text]))).toEqual({
      t1: `${ACCESS} t1`,
      t2: FAILURE,
    });
    expect(unresolvedTemplates(expanded)).toBe(0);
  });

  it('are sent again when their text changes', () => {
    const p = pair();
    p.deliver(p.send(stream({ t1: 1 })));
    p.ack();
    const changed = p.send(stream({ t1: 1 }, { t1: 'GET <*>' }));
    expect(changed.logs[0]!.templates.map((t) => t.text)).toEqual(['GET <*>']);
    expect(p.deliver(changed).logs[0]!.templates.map((t) => t.text)).toEqual(['GET <*>']);
  });

  it('are sent again after a drop of the batch that carried them, or a refusal', () => {
    const p = pair();
    p.send(stream({ t1: 1 })); // batch 1: carries t1, will be dropped
    p.ack(); // an ack that jumps over it (the drop is known below)
    p.view.lastDroppedSeq = 1;
    const after = p.send(stream({ t1: 1 }));
    expect(texts(after)).toEqual(['t1']);
    expect(unresolvedTemplates(p.deliver(after))).toBe(0);
    p.ack();
    expect(texts(p.send(stream({ t1: 1 })))).toEqual([]);
    // Refused: the aggregator did not apply it, so what only it carried goes again.
    const carrier = p.send(stream({ t9: 1 }));
    p.ack();
    expect(texts(carrier)).toEqual(['t9']);
    p.agent.refused(p.view.seq);
    expect(texts(p.send(stream({ t9: 1 })))).toEqual(['t9']);
  });

  it('are sent again in a new epoch', () => {
    const p = pair();
    p.deliver(p.send(stream({ t1: 1 })));
    p.ack();
    p.agent.restart();
    const fresh = p.send(stream({ t1: 1 }));
    expect(fresh.dictionaryEpoch).toBe(2);
    expect(texts(fresh)).toEqual(['t1']);
    expect(unresolvedTemplates(p.deliver(fresh))).toBe(0);
  });

  it('that the aggregator never got leave the counts in place, counted unresolved, without a throw', () => {
    const p = pair();
    p.deliver(p.send(stream({ t1: 1 })));
    p.ack();
    // t7's text went in a batch the aggregator never saw, and the agent believes it held.
    const lost = p.send(stream({ t7: 3 }));
    p.ack();
    const wire = p.send(stream({ t1: 2, t7: 4 }));
    expect(texts(wire)).toEqual([]);
    const expanded = p.deliver(wire);
    expect(unresolvedTemplates(expanded)).toBe(1);
    expect(expanded.logs[0]!.counts.map((c) => [c.templateId, c.count])).toEqual([
      ['t1', 2],
      ['t7', 4],
    ]);
    expect(expanded.logs[0]!.templates.map((t) => t.id)).toEqual(['t1']);
    expect(lost.logs[0]!.templates).toHaveLength(1);
  });
});

describe('packed counts', () => {
  it('round-trip ids t<n> and overflow, and leave other ids plain', () => {
    const counts = [
      { templateId: 't12', count: 3 },
      { templateId: 'overflow', count: 7 },
      { templateId: 't3', count: 1 },
      { templateId: 'custom', count: 2 },
      { templateId: 't0', count: 1 },
    ];
    const packed = packCounts(counts);
    expect(packed.packedCounts).toEqual([0, 7, 3, 1, 9, 3]);
    expect(packed.counts).toEqual([
      { templateId: 'custom', count: 2 },
      { templateId: 't0', count: 1 },
    ]);
    expect(unpackCounts(packed.packedCounts)).toEqual([
      { templateId: 'overflow', count: 7 },
      { templateId: 't3', count: 1 },
      { templateId: 't12', count: 3 },
    ]);
  });
});

describe('exemplars in summaries', () => {
  it('go with a template first defined, and for an error template once per period, not every window', () => {
    const p = pair();
    const first = p.send(stream({ t1: 3, t2: 1 }));
    expect(first.logs[0]!.exemplars).toEqual(['line of t2', 'line of t1']);
    p.deliver(first);
    p.ack();
    // Known templates: the access one says nothing new; the error one was just sent.
    for (let w = 1; w < EXEMPLAR_EVERY_WINDOWS; w++) {
      const s = p.send(stream({ t1: 3, t2: 1 }));
      expect(s.logs[0]!.exemplars).toEqual([]);
      p.ack();
    }
    expect(p.send(stream({ t1: 3, t2: 1 })).logs[0]!.exemplars).toEqual(['line of t2']);
  });

  it('go again while the batch that carried one is not acked, at most three a stream, clipped', () => {
    const p = pair();
    const long = 'x'.repeat(EXEMPLAR_MAX_CHARS + 50);
    const w = stream({ t1: 1, t2: 1, t3: 1, t4: 1 });
    w.samples = w.samples!.map((s) => ({ ...s, line: `${s.templateId} ${long}` }));
    const a = p.send(w);
    expect(a.logs[0]!.exemplars).toHaveLength(3);
    expect(a.logs[0]!.exemplars[0]).toBe(`t2 ${long}`.slice(0, EXEMPLAR_MAX_CHARS) + '…');
    const b = p.send(stream({ t2: 1 }));
    expect(b.logs[0]!.exemplars).toEqual(['line of t2']);
  });
});

describe('exemplars by template', () => {
  it('travel as the parts the wildcards stood for, and the aggregator rebuilds the very line', () => {
    const p = pair();
    const line = '2026-11-27T05:17:12.215Z ERROR payment 42 failed: connection refused to db:5432';
    const w = stream({ t2: 1 });
    w.samples = [{ templateId: 't2', line, error: true }];
    const wire = p.send(w);
    expect(wire.logs[0]!.exemplars).toEqual([]);
    expect(wire.logs[0]!.templateExemplars.map((x) => [x.templateId, x.params])).toEqual([
      ['t2', ['2026-11-27T05:17:12.215Z', '42', 'db:5432']],
    ]);
    const expanded = p.deliver(wire);
    expect(expanded.logs[0]!.exemplars).toEqual([line]);
    expect(expanded.logs[0]!.templateExemplars).toEqual([]);
  });

  it('whose template the aggregator does not hold are counted unresolved, not rebuilt wrong', () => {
    const p = pair();
    p.deliver(p.send(stream({ t1: 1 })));
    p.ack();
    const lost = stream({ t2: 1 });
    lost.samples = [];
    p.send(lost); // never delivered, but acked as far as the agent knows
    p.ack();
    const w = stream({ t2: 1 });
    w.samples = [
      { templateId: 't2', line: 'x ERROR payment 1 failed: connection refused to y', error: true },
    ];
    const wire = p.send(w);
    expect(wire.logs[0]!.templateExemplars).toHaveLength(1);
    const expanded = p.deliver(wire);
    expect(expanded.logs[0]!.exemplars).toEqual([]);
    expect(unresolvedTemplates(expanded)).toBe(2); // the count's text and the exemplar's
  });
});

describe('paramsOf and lineOf', () => {
  it('split a line at its template literals and rebuild it exactly, or decline', () => {
    expect(paramsOf('GET <*> 200 <*>ms', 'GET /a 200 12ms')).toEqual(['/a', '12']);
    expect(paramsOf('<*> x <*>', 'a x b x c')).toEqual(['a', 'b x c']);
    expect(paramsOf('no wildcards', 'no wildcards')).toEqual([]);
    expect(paramsOf('no wildcards', 'other')).toBeUndefined();
    expect(paramsOf('GET <*> 200', 'GET  /a 200 extra')).toBeUndefined();
    expect(paramsOf('<*><*>', 'ab')).toEqual(['', 'ab']);
    expect(paramsOf('a<*>a', 'a')).toBeUndefined();
    expect(lineOf('GET <*> 200 <*>ms', ['/a', '12'])).toBe('GET /a 200 12ms');
    expect(lineOf('GET <*>', ['/a', 'extra'])).toBeUndefined();
  });
});

describe('a text several streams share', () => {
  it('goes once per batch; the other streams point at it and the aggregator names their templates', () => {
    const p = pair();
    const other = { ...pod, pod: 'api-2' };
    const second = { ...stream({ t1: 2, t5: 1 }, { t5: FAILURE }), subject: subjectToWire(other) };
    const wire = p.send(stream({ t1: 1, t2: 1 }), second);
    const [a, b] = wire.logs;
    expect(a!.templates.map((t) => [t.id, t.text, t.sameAs])).toEqual([
      ['t1', `${ACCESS} t1`, 0],
      ['t2', FAILURE, 0],
    ]);
    expect(b!.templates.map((t) => [t.id, t.text, t.sameAs])).toEqual([
      ['t1', '', 1],
      ['t5', '', 2],
    ]);
    const expanded = p.deliver(wire);
    expect(unresolvedTemplates(expanded)).toBe(0);
    const byPod = Object.fromEntries(
      expanded.logs.map((l) => [l.subject?.pod, Object.fromEntries(l.templates.map((t) => [t.id, t.text]))]),
    );
    expect(byPod['api-2']).toEqual({ t1: `${ACCESS} t1`, t5: FAILURE });
    // The aggregator holds them for later batches too.
    p.ack();
    const later = p.deliver(p.send({ ...stream({ t5: 1 }, { t5: FAILURE }), subject: subjectToWire(other) }));
    expect(later.logs[0]!.templates.map((t) => t.text)).toEqual([FAILURE]);
  });

  it('that points nowhere is counted unresolved and left out', () => {
    const p = pair();
    const wire = p.send(stream({ t1: 1 }));
    wire.logs[0]!.templates[0]!.text = '';
    wire.logs[0]!.templates[0]!.sameAs = 9;
    const expanded = p.deliver(wire);
    expect(expanded.logs[0]!.templates).toEqual([]);
    expect(unresolvedTemplates(expanded)).toBe(2); // the bad definition, then the count it would have named
  });
});
