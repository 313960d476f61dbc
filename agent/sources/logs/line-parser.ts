import type { TailCounters } from './counters.ts';
import type { LogRecord } from './types.ts';

/** What every parser shares: limits, counters, and the read time for lines without their own timestamp. */
export interface ParseContext {
  maxLineBytes: number;
  counters: TailCounters;
  /** Set by the tailer once per poll. */
  nowMs: number;
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
