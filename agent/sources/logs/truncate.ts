// Cutting over-long lines: at a UTF-8 character boundary, with a marker a reader cannot miss.

export function truncationMarker(droppedBytes: number): string {
  return `…[truncated ${droppedBytes} bytes]`;
}

/**
 * The end of the first `max` bytes of [start, end), moved back so no multi-byte character is split.
 * Returns `end` when the range already fits.
 */
export function utf8CutEnd(buf: Uint8Array, start: number, end: number, max: number): number {
  if (end - start <= max) return end;
  let cut = start + max;
  // A continuation byte (10xxxxxx) at the cut means its character began before the cut: drop that char.
  let back = 0;
  while (cut > start && back < 3 && ((buf[cut] as number) & 0xc0) === 0x80) {
    cut--;
    back++;
  }
  return cut;
}
