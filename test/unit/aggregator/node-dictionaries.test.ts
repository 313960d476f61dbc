import { create } from '@bufbuild/protobuf';
import { describe, expect, it } from 'vitest';
import { NodeDictionaries } from '../../../aggregator/state/node-dictionaries.ts';
import { SummarySchema } from '../../../proto/gen/vigil/v1/summary_pb.js';

describe('node dictionaries', () => {
  it('passes a summary without a dictionary epoch through as it came (agents before the dictionary)', () => {
    const dict = new NodeDictionaries();
    const summary = create(SummarySchema, {
      node: 'n1',
      metrics: [{ name: 'node.load.1m', min: 1, max: 2, mean: 1.5, last: 2, count: 10 }],
      logs: [{ subject: { pod: 'api-1' }, stream: 'container', lines: 1n }],
    });
    expect(dict.expand('n1', summary).unresolved).toBe(0);
    expect(summary.metrics.map((d) => d.name)).toEqual(['node.load.1m']);
    expect(summary.logs[0]?.subject?.pod).toBe('api-1');
    expect(dict.epochOf('n1')).toBe(0);
  });

  it('keeps one dictionary per node: refs of one node never resolve against another', () => {
    const dict = new NodeDictionaries();
    const define = create(SummarySchema, {
      dictionaryEpoch: 1,
      seriesDefs: [{ ref: 1, name: 'node.load.1m' }],
      packedMetrics: { refs: [3], values: [2], count: 10 },
    });
    expect(dict.expand('n1', define).unresolved).toBe(0);
    expect(define.metrics[0]).toMatchObject({ name: 'node.load.1m', last: 2, count: 10 });
    const other = create(SummarySchema, {
      dictionaryEpoch: 1,
      packedMetrics: { refs: [3], values: [2], count: 10 },
    });
    expect(dict.expand('n2', other).unresolved).toBe(1);
    expect(other.metrics).toHaveLength(0);
  });

  it('drops the previous epoch when a node moves to a new one', () => {
    const dict = new NodeDictionaries();
    dict.expand(
      'n1',
      create(SummarySchema, { dictionaryEpoch: 1, seriesDefs: [{ ref: 1, name: 'old.series' }] }),
    );
    const next = create(SummarySchema, {
      dictionaryEpoch: 2,
      packedMetrics: { refs: [3], values: [5], count: 1 },
    });
    expect(dict.expand('n1', next).unresolved).toBe(1);
    expect(dict.epochOf('n1')).toBe(2);
  });
});
