import { describe, expect, it } from 'vitest';
import { RateSpan } from '../../../agent/detect/metrics/rate-span.ts';

describe('RateSpan', () => {
  it('gives the counter’s rate over each span, whatever the intervals inside it', () => {
    const span = new RateSpan(5_000);
    // A counter read at uneven times: the rate of each interval is its delta over its length.
    const reads = [
      [0, 0],
      [1_000, 100],
      [1_500, 100],
      [4_000, 600],
      [5_000, 700],
      [7_000, 900],
      [10_000, 1_500],
    ] as const;
    const out: Array<number | undefined> = [];
    for (let i = 1; i < reads.length; i++) {
      const [t, v] = reads[i]!;
      const [pt, pv] = reads[i - 1]!;
      if (i === 1) span.add(pt, 0); // the first sample only starts the span
      out.push(span.add(t, (v - pv) / (t - pt)));
    }
    // 700 units over the first 5 s, then 800 over the next 5 s.
    expect(out).toEqual([undefined, undefined, undefined, 700 / 5_000, undefined, 800 / 5_000]);
  });

  it('ignores samples that do not move time forward or are not numbers', () => {
    const span = new RateSpan(2_000);
    span.add(0, 1);
    expect(span.add(0, 50)).toBeUndefined();
    expect(span.add(1_000, Number.NaN)).toBeUndefined();
    expect(span.add(2_000, 3)).toBe(3);
  });
});
