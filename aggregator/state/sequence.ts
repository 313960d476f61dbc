// How the aggregator judges a batch's sequence number against what it holds for that node. Pure, so the
// rules that make replay exactly-once in effect are easy to read and to test.

export type SequenceVerdict =
  | { kind: 'accept' /** Sequences skipped because the agent dropped them (explained). */; gap: number }
  | { kind: 'duplicate' }
  | { kind: 'invalid'; reason: string };

/** At 1 batch / 10 s, a million dropped batches is four months: anything beyond is a broken or lying peer. */
export const MAX_EXPLAINED_GAP = 1_000_000;

export function judgeSequence(last: number | undefined, seq: number, droppedBefore: number): SequenceVerdict {
  if (!Number.isSafeInteger(seq) || seq < 1)
    return { kind: 'invalid', reason: `sequence ${seq} is not a positive integer` };
  if (!Number.isSafeInteger(droppedBefore) || droppedBefore < 0 || droppedBefore > MAX_EXPLAINED_GAP) {
    return { kind: 'invalid', reason: `dropped_before ${droppedBefore} is out of range` };
  }
  // A node we hold nothing for starts wherever its outbox is.
  if (last === undefined) return { kind: 'accept', gap: 0 };
  if (seq <= last) return { kind: 'duplicate' };
  const gap = seq - last - 1;
  if (gap > droppedBefore) {
    return {
      kind: 'invalid',
      reason: `sequence ${seq} jumps ${gap} past the last stored ${last}, but the agent reports only ${droppedBefore} dropped`,
    };
  }
  return { kind: 'accept', gap };
}
