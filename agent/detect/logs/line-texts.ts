// Lines of a byte batch (agent/sources/logs/line-batches.ts) as text for the miner: an ASCII stretch of lines
// (the usual case) is decoded a window at a time and each line is handed on as a range of that window's string
// (byte offsets are character offsets there), not cut out; a stretch with other bytes is decoded line by line
// as UTF-8.
import { isAscii } from 'node:buffer';

/** Bytes decoded at once: strings of 128 KiB and more go to V8's large-object space and are slow to make. */
const WINDOW_BYTES = 32 * 1024;

/**
 * Calls `visit(text, from, to, latin1At)` for lines `[first, last)` of the batch, in order; `text[to]` is LF or the
 * end of `text`. `latin1At` is the line's offset in `bytes` when `text` was decoded one byte per character (an
 * ASCII stretch), else -1 (the line was decoded alone).
 */
export function forEachLine(
  bytes: Uint8Array,
  ends: Int32Array,
  first: number,
  last: number,
  visit: (text: string, from: number, to: number, latin1At: number) => void,
): void {
  const buf = Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  let i = first;
  let base = first === 0 ? 0 : ends[first - 1]! + 1;
  while (i < last) {
    // Lines [i, j) whose bytes (with their LFs) fit in one window; at least one line.
    let j = i + 1;
    while (j < last && ends[j]! + 1 - base <= WINDOW_BYTES) j++;
    const stop = Math.min(ends[j - 1]! + 1, buf.length);
    if (isAscii(buf.subarray(base, stop))) {
      const text = buf.toString('latin1', base, stop);
      let from = 0;
      for (let k = i; k < j; k++) {
        const to = ends[k]! - base;
        visit(text, from, to, base + from);
        from = to + 1;
      }
    } else {
      let from = base;
      for (let k = i; k < j; k++) {
        const to = ends[k]!;
        const line = buf.toString('utf8', from, to);
        visit(line, 0, line.length, -1);
        from = to + 1;
      }
    }
    base = stop;
    i = j;
  }
}
