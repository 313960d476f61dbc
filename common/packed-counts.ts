// Template counts on the wire (`LogStreamSummary.packed_counts`): template ids of the form `t<n>` (what the
// miner makes) and `overflow` as (gap in n, count) pairs by ascending n, about 2 bytes a template instead of
// about 9 for a TemplateCount. The agent packs, the aggregator unpacks.

const NUMBERED = /^t[1-9][0-9]{0,8}$/;
const OVERFLOW_ID = 'overflow';

export interface PlainCount {
  templateId: string;
  count: number;
}

/** Ids `t<n>` and `overflow` (n = 0) as (gap, count) pairs by ascending n; any other id stays a plain count. */
export function packCounts(counts: ReadonlyArray<{ templateId?: string; count?: number }>): {
  counts: PlainCount[];
  packedCounts: number[];
} {
  const plain: PlainCount[] = [];
  const numbered: Array<[number, number]> = [];
  for (const c of counts) {
    const id = c.templateId ?? '';
    const count = c.count ?? 0;
    if (id === OVERFLOW_ID) numbered.push([0, count]);
    else if (NUMBERED.test(id)) numbered.push([Number(id.slice(1)), count]);
    else plain.push({ templateId: id, count });
  }
  numbered.sort((a, b) => a[0] - b[0]);
  const packedCounts: number[] = [];
  let prev = 0;
  for (const [n, count] of numbered) {
    packedCounts.push(n - prev, count);
    prev = n;
  }
  return { counts: plain, packedCounts };
}

/** The counts `packCounts` packed, by ascending n. An odd trailing value is ignored. */
export function unpackCounts(packed: readonly number[]): PlainCount[] {
  const out: PlainCount[] = [];
  let n = 0;
  for (let i = 0; i + 1 < packed.length; i += 2) {
    n += packed[i]!;
    out.push({ templateId: n === 0 ? OVERFLOW_ID : `t${n}`, count: packed[i + 1]! });
  }
  return out;
}
