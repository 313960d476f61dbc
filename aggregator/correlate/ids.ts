// Incident and action ids are `<prefix>-<time base 36>-<sequence base 36>` (`inc-…`, `act-…`). The sequence
// part keeps ids unique after a restart even when the stored sequence counter is lost or the clock repeats.

/** The sequence number of an id (0 when it has none). */
export function idSequence(id: string): number {
  const n = Number.parseInt(id.slice(id.lastIndexOf('-') + 1), 36);
  return Number.isFinite(n) ? n : 0;
}

/** The highest sequence among ids, at least `floor`. */
export function maxIdSequence(ids: Iterable<string>, floor = 0): number {
  let max = floor;
  for (const id of ids) max = Math.max(max, idSequence(id));
  return max;
}
