import type { ParseContext } from './line-parser.ts';
import { truncationMarker, utf8CutEnd } from './truncate.ts';
import type { LogRecord, StreamKey } from './types.ts';

// Reassembles records split across physical lines (CRI `P`…`F`, docker json-file 16 KiB splits), one
// unfinished record per stream (stdout and stderr pieces may interleave). Records are released in the
// order they START in the file: a record that completes while an earlier-starting one is still open is
// held back. That keeps the checkpoint simple and exact: everything before the earliest open record has
// been returned, nothing after it has.

type ContainerStreamName = 'stdout' | 'stderr';

interface Pending {
  start: number;
  timeMs: number;
  streamName: ContainerStreamName;
  chunks: Buffer[];
  bytes: number;
  /** Bytes beyond maxLineBytes, dropped. */
  overflow: number;
}

interface Held {
  start: number;
  record: LogRecord;
}

/** Past this many held-back records the earliest open record is emitted as it is (counted). */
const MAX_HELD = 1000;

export class Reassembler {
  private readonly stream: StreamKey;
  private readonly ctx: ParseContext;
  private stdout: Pending | null = null;
  private stderr: Pending | null = null;
  private held: Held[] = [];

  constructor(stream: StreamKey, ctx: ParseContext) {
    this.stream = stream;
    this.ctx = ctx;
  }

  /** True while a record is open: callers then route complete lines through `piece()` too. */
  get busy(): boolean {
    return this.stdout !== null || this.stderr !== null;
  }

  /** A record in one piece while nothing is open: the fast path, no copy. */
  single(
    out: LogRecord[],
    streamName: ContainerStreamName,
    timeMs: number,
    buf: Buffer,
    start: number,
    end: number,
    overflow: number,
  ): void {
    out.push(this.fromBytes(streamName, timeMs, buf, start, end, overflow));
  }

  /** A piece of a record; `final` ends it. */
  piece(
    out: LogRecord[],
    streamName: ContainerStreamName,
    timeMs: number,
    offset: number,
    buf: Buffer,
    start: number,
    end: number,
    overflow: number,
    final: boolean,
  ): void {
    let p = streamName === 'stdout' ? this.stdout : this.stderr;
    if (p === null) {
      if (final) {
        this.emitOrHold(out, offset, this.fromBytes(streamName, timeMs, buf, start, end, overflow));
        return;
      }
      p = { start: offset, timeMs, streamName, chunks: [], bytes: 0, overflow: 0 };
      if (streamName === 'stdout') this.stdout = p;
      else this.stderr = p;
    }
    const room = this.ctx.maxLineBytes - p.bytes;
    const take = Math.max(0, Math.min(room, end - start));
    if (take > 0) {
      p.chunks.push(Buffer.from(buf.subarray(start, start + take)));
      p.bytes += take;
    }
    p.overflow += end - start - take + overflow;
    if (final) {
      this.close(p);
      this.emitOrHold(out, p.start, this.fromPending(p));
    } else if (this.held.length > MAX_HELD) {
      this.cutEarliest(out);
    }
  }

  /** A record that did not parse: it still must not overtake an open record. */
  passThrough(out: LogRecord[], offset: number, record: LogRecord): void {
    if (this.busy) this.emitOrHold(out, offset, record);
    else out.push(record);
  }

  pendingOffset(): number {
    const a = this.stdout?.start ?? -1;
    const b = this.stderr?.start ?? -1;
    if (a < 0) return b;
    if (b < 0) return a;
    return Math.min(a, b);
  }

  flush(out: LogRecord[]): void {
    while (this.busy) this.cutEarliest(out, false);
    this.release(out);
  }

  reset(): void {
    this.stdout = null;
    this.stderr = null;
    this.held = [];
  }

  private cutEarliest(out: LogRecord[], counted = true): void {
    const first = this.pendingOffset();
    const p = this.stdout !== null && this.stdout.start === first ? this.stdout : this.stderr;
    if (p === null) return;
    this.close(p);
    if (counted) this.ctx.counters.partialsCut++;
    out.push(this.fromPending(p));
    this.release(out);
  }

  private close(p: Pending): void {
    if (p === this.stdout) this.stdout = null;
    else if (p === this.stderr) this.stderr = null;
  }

  private emitOrHold(out: LogRecord[], start: number, record: LogRecord): void {
    const open = this.pendingOffset();
    if (open >= 0 && open < start) {
      this.held.push({ start, record });
      return;
    }
    out.push(record);
    this.release(out);
  }

  private release(out: LogRecord[]): void {
    if (this.held.length === 0) return;
    const open = this.pendingOffset();
    this.held.sort((x, y) => x.start - y.start);
    let n = 0;
    while (n < this.held.length && (open < 0 || (this.held[n] as Held).start < open)) {
      out.push((this.held[n] as Held).record);
      n++;
    }
    if (n > 0) this.held.splice(0, n);
  }

  private fromBytes(
    streamName: ContainerStreamName,
    timeMs: number,
    buf: Buffer,
    start: number,
    end: number,
    overflow: number,
  ): LogRecord {
    const cut = utf8CutEnd(buf, start, end, this.ctx.maxLineBytes);
    const dropped = end - cut + overflow;
    let text = this.ctx.chunkText?.decode(buf, start, cut) ?? buf.toString('utf8', start, cut);
    if (dropped > 0) {
      text += truncationMarker(dropped);
      this.ctx.counters.truncations++;
    }
    this.ctx.counters.records++;
    return { stream: this.stream, timeMs, streamName, text, truncated: dropped > 0 };
  }

  private fromPending(p: Pending): LogRecord {
    const all = p.chunks.length === 1 ? (p.chunks[0] as Buffer) : Buffer.concat(p.chunks, p.bytes);
    return this.fromBytes(p.streamName, p.timeMs, all, 0, all.length, p.overflow);
  }
}
