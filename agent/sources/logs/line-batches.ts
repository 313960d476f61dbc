// The fast lane from the reader to the mining worker: the message bytes of plain single-piece lines, copied
// out of the read chunk into one buffer per stream and poll (each line followed by LF), with the end offset of
// each line. No string and no record object per line on the main thread; the buffer crosses to the worker
// by transfer, not by copy. Lines that need more (CRI partials, cut or malformed lines, docker JSON, host
// logs) still become records.
import type { StreamKey } from './types.ts';

/** One stream's plain lines of one poll. */
export interface LineBatch {
  stream: StreamKey;
  /** Message bytes, each line followed by LF; its own ArrayBuffer (transferable). */
  bytes: Uint8Array;
  /** End offset in `bytes` of each line (its LF not included); line i starts after line i-1's LF. */
  ends: Int32Array;
}

/** A stream's first buffer; it doubles as needed and is kept while the stream gives lines at every poll. */
const FIRST_BYTES = 4096;
const FIRST_LINES = 64;
/** Buffers kept for reuse. */
const MAX_SPARE = 4;

interface Growing {
  stream: StreamKey;
  bytes: Uint8Array;
  used: number;
  ends: Int32Array;
  lines: number;
}

export class LineBatchCollector {
  private readonly byStream = new Map<string, Growing>();
  private last: Growing | undefined;
  /** The last source buffer seen and a plain view of it (the reader reuses one chunk buffer). */
  private source: Uint8Array | undefined;
  private sourceView: Uint8Array = new Uint8Array(0);
  private readonly spare: Array<{ bytes: Uint8Array; ends: Int32Array }> = [];

  /** Adds the line `buf[start, end)` (no LF) of `stream`. */
  add(stream: StreamKey, buf: Uint8Array, start: number, end: number): void {
    let g = this.last;
    if (g === undefined || g.stream.id !== stream.id) {
      g = this.byStream.get(stream.id);
      if (g === undefined) {
        g = {
          stream,
          bytes: new Uint8Array(FIRST_BYTES),
          used: 0,
          ends: new Int32Array(FIRST_LINES),
          lines: 0,
        };
        this.byStream.set(stream.id, g);
      }
      this.last = g;
    }
    const len = end - start;
    if (g.used + len + 1 > g.bytes.length) {
      const bigger = new Uint8Array(Math.max(g.bytes.length * 2, g.used + len + 1));
      bigger.set(g.bytes.subarray(0, g.used));
      g.bytes = bigger;
    }
    if (g.lines === g.ends.length) {
      const bigger = new Int32Array(g.ends.length * 2);
      bigger.set(g.ends);
      g.ends = bigger;
    }
    // Short lines: a loop beats the native call of `set` with its subarray. Longer ones: `set` from a plain
    // Uint8Array view of the source (a Buffer's `subarray` constructs a Buffer, which costs more than the copy).
    const bytes = g.bytes;
    let at = g.used;
    if (len <= 32) for (let i = start; i < end; i++) bytes[at++] = buf[i]!;
    else {
      if (buf !== this.source) {
        this.source = buf;
        this.sourceView = new Uint8Array(buf.buffer, buf.byteOffset, buf.byteLength);
      }
      bytes.set(this.sourceView.subarray(start, end), at);
      at += len;
    }
    g.ends[g.lines++] = at;
    bytes[at] = 10;
    g.used = at + 1;
  }

  /**
   * The batches gathered since the last call. Each hands over its stream's working buffers (views of the
   * used part), to be transferred; the stream continues in a buffer given back by `recycle`, or a new one.
   * Streams that gave nothing since the last call are forgotten.
   */
  take(): LineBatch[] {
    const out: LineBatch[] = [];
    for (const [id, g] of this.byStream) {
      if (g.lines === 0) {
        this.byStream.delete(id);
        continue;
      }
      out.push({ stream: g.stream, bytes: g.bytes.subarray(0, g.used), ends: g.ends.subarray(0, g.lines) });
      const spare = this.spare.pop();
      g.bytes = spare?.bytes ?? new Uint8Array(g.bytes.length);
      g.ends = spare?.ends ?? new Int32Array(g.ends.length);
      g.used = 0;
      g.lines = 0;
    }
    this.last = undefined;
    return out;
  }

  /**
   * Gives back the buffers of a batch once its lines are used (after their round trip through the worker), so
   * that the next polls fill them again instead of allocating: fresh large buffers cost page faults and GC.
   */
  recycle(bytes: Uint8Array, ends: Int32Array): void {
    if (this.spare.length >= MAX_SPARE) return;
    this.spare.push({
      bytes: new Uint8Array(bytes.buffer, 0, bytes.buffer.byteLength),
      ends: new Int32Array(ends.buffer, 0, ends.buffer.byteLength >> 2),
    });
  }
}
