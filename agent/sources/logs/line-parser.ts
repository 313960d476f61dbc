import { isAscii } from 'node:buffer';
import type { TailCounters } from './counters.ts';
import type { LineBatchCollector } from './line-batches.ts';
import type { LogRecord } from './types.ts';

/** What every parser shares: limits, counters, and the read time for lines without their own timestamp. */
export interface ParseContext {
  maxLineBytes: number;
  counters: TailCounters;
  /** Set by the tailer once per poll. */
  nowMs: number;
  /** The reader's decoder of the chunk being parsed (set by the reader). */
  chunkText?: ChunkText;
  /**
   * When set, plain single-piece container lines go here as bytes instead of becoming records (the
   * pipeline's fast lane to the mining worker, line-batches.ts).
   */
  lineBatches?: LineBatchCollector;
}

/** Window of bytes decoded at once: small enough for V8's young generation (≥ 128 KiB strings are slow). */
const WINDOW_BYTES = 32 * 1024;

/**
 * Decodes the record texts of one read chunk: ASCII stretches (the usual case) are decoded a window at a time
 * and each text is cut from the window's string (byte offsets are character offsets there), instead of one
 * decode per line; anything else is decoded per line as UTF-8.
 */
export class ChunkText {
  private buf: Buffer | undefined;
  private end = 0;
  private base = 0;
  private text = '';
  private otherStart = 0;
  private otherEnd = 0;

  /** Texts of `buf[0, end)` are about to be asked for. */
  begin(buf: Buffer, end: number): void {
    this.buf = buf;
    this.end = end;
    this.text = '';
    this.otherEnd = 0;
  }

  /** The chunk's buffer is about to be reused. */
  finish(): void {
    this.buf = undefined;
    this.text = '';
  }

  /** Text of bytes [start, end) of `buf`. */
  decode(buf: Buffer, start: number, end: number): string {
    if (buf !== this.buf || end > this.end) return buf.toString('utf8', start, end);
    if (start >= this.base && end <= this.base + this.text.length)
      return this.text.slice(start - this.base, end - this.base);
    if (start >= this.otherStart && end <= this.otherEnd) return buf.toString('utf8', start, end);
    const stop = Math.min(this.end, Math.max(end, start + WINDOW_BYTES));
    if (!isAscii(buf.subarray(start, stop))) {
      this.otherStart = start;
      this.otherEnd = stop;
      return buf.toString('utf8', start, end);
    }
    this.base = start;
    this.text = buf.toString('latin1', start, stop);
    return this.text.slice(0, end - start);
  }
}

/**
 * Turns physical lines of one file into records. A parser may hold an unfinished record (CRI `P` pieces,
 * docker 16 KiB splits); `pendingOffset()` then tells where it starts, so the checkpoint never moves past
 * a record that has not been returned.
 */
export interface LineParser {
  /**
   * One physical line: bytes [start, end) of buf, without its `\n`. `offset` is the file offset of its first
   * byte; `overflow` counts bytes the reader already cut off after `end` (a physical line over its cap).
   * The buffer is reused after the call: parsers must copy what they keep.
   */
  line(buf: Buffer, start: number, end: number, offset: number, overflow: number, out: LogRecord[]): void;
  /** File offset where the earliest unfinished record begins, or -1 when nothing is pending. */
  pendingOffset(): number;
  /** Emits whatever is pending (the file is being let go). */
  flush(out: LogRecord[]): void;
  /** Drops pending state (the file was truncated). */
  reset(): void;
}
