import type { LineParser, ParseContext } from './line-parser.ts';
import { rawRecord } from './raw-record.ts';
import { Reassembler } from './reassembler.ts';
import { isRfc3339, parseRfc3339 } from './timestamp.ts';
import type { LogRecord, StreamKey } from './types.ts';

// CRI log lines as containerd and CRI-O write them:
//   <RFC3339Nano> <stdout|stderr> <P|F>[:<more tags>] <message>
// `P` marks a piece of a longer line (the runtime splits at 16 KiB), `F` its last piece. Only the message
// bytes are decoded; the header is parsed in place.

const SPACE = 32;
const P = 80;
const F = 70;

/** Whether bytes at `at` spell `stdout` (1), `stderr` (2), or neither (0). */
function streamAt(buf: Buffer, at: number): 0 | 1 | 2 {
  if (buf[at] !== 115 || buf[at + 1] !== 116 || buf[at + 2] !== 100) return 0; // 'std'
  const a = buf[at + 3];
  const b = buf[at + 4];
  const c = buf[at + 5];
  if (a === 111 && b === 117 && c === 116) return 1; // 'out'
  if (a === 101 && b === 114 && c === 114) return 2; // 'err'
  return 0;
}

export class CriLineParser implements LineParser {
  private readonly stream: StreamKey;
  private readonly ctx: ParseContext;
  private readonly parts: Reassembler;

  constructor(stream: StreamKey, ctx: ParseContext) {
    this.stream = stream;
    this.ctx = ctx;
    this.parts = new Reassembler(stream, ctx);
  }

  line(buf: Buffer, start: number, end: number, offset: number, overflow: number, out: LogRecord[]): void {
    // The timestamp ends at the first space; it is at most ~35 bytes.
    let sp = start;
    const limit = Math.min(end, start + 40);
    while (sp < limit && buf[sp] !== SPACE) sp++;
    // Only checked here: most lines go to the byte lane, which needs no time (parsed below for records).
    const timeOk = sp < limit && isRfc3339(buf, start, sp);
    const which = streamAt(buf, sp + 1);
    const flagAt = sp + 8;
    const flag = buf[flagAt];
    if (!timeOk || which === 0 || buf[sp + 7] !== SPACE || flagAt >= end || (flag !== P && flag !== F)) {
      this.malformed(buf, start, end, offset, overflow, out);
      return;
    }
    // Tags may continue after the flag (`F:x`); the message starts after the next space (or is empty).
    let msg = flagAt + 1;
    while (msg < end && buf[msg] !== SPACE) msg++;
    if (msg < end) msg++;
    const streamName = which === 1 ? 'stdout' : 'stderr';
    if (flag === F && !this.parts.busy) {
      const batches = this.ctx.lineBatches;
      // A whole line within the cap: bytes for the miner, no record (its time and stream name are not needed).
      if (batches !== undefined && overflow === 0 && end - msg <= this.ctx.maxLineBytes) {
        batches.add(this.stream, buf, msg, end);
        this.ctx.counters.records++;
        return;
      }
      this.parts.single(out, streamName, parseRfc3339(buf, start, sp), buf, msg, end, overflow);
      return;
    }
    this.parts.piece(
      out,
      streamName,
      parseRfc3339(buf, start, sp),
      offset,
      buf,
      msg,
      end,
      overflow,
      flag === F,
    );
  }

  pendingOffset(): number {
    return this.parts.pendingOffset();
  }

  flush(out: LogRecord[]): void {
    this.parts.flush(out);
  }

  reset(): void {
    this.parts.reset();
  }

  private malformed(
    buf: Buffer,
    start: number,
    end: number,
    offset: number,
    overflow: number,
    out: LogRecord[],
  ): void {
    this.ctx.counters.parseErrors++;
    this.parts.passThrough(
      out,
      offset,
      rawRecord(this.ctx, this.stream, 'stdout', buf, start, end, overflow),
    );
  }
}
