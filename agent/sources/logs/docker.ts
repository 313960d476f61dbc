import type { LineParser, ParseContext } from './line-parser.ts';
import { rawRecord } from './raw-record.ts';
import { Reassembler } from './reassembler.ts';
import { parseRfc3339 } from './timestamp.ts';
import type { LogRecord, StreamKey } from './types.ts';

// Docker's json-file driver: one JSON object per physical line,
//   {"log":"message\n","stream":"stdout","time":"2024-01-01T00:00:00.123456789Z"}
// A message longer than 16 KiB is split into objects whose `log` lacks the trailing `\n`; the piece that
// ends with `\n` completes it.

interface DockerLine {
  log?: unknown;
  stream?: unknown;
  time?: unknown;
}

export class DockerLineParser implements LineParser {
  private readonly stream: StreamKey;
  private readonly ctx: ParseContext;
  private readonly parts: Reassembler;
  private readonly scratch = Buffer.allocUnsafe(64);

  constructor(stream: StreamKey, ctx: ParseContext) {
    this.stream = stream;
    this.ctx = ctx;
    this.parts = new Reassembler(stream, ctx);
  }

  line(buf: Buffer, start: number, end: number, offset: number, overflow: number, out: LogRecord[]): void {
    let parsed: DockerLine | null = null;
    if (overflow === 0 && buf[start] === 123) {
      try {
        parsed = JSON.parse(buf.toString('utf8', start, end)) as DockerLine;
      } catch {
        parsed = null;
      }
    }
    const log = parsed?.log;
    const stream = parsed?.stream;
    const timeMs = typeof parsed?.time === 'string' ? this.time(parsed.time) : Number.NaN;
    if (typeof log !== 'string' || (stream !== 'stdout' && stream !== 'stderr') || Number.isNaN(timeMs)) {
      this.ctx.counters.parseErrors++;
      this.parts.passThrough(
        out,
        offset,
        rawRecord(this.ctx, this.stream, 'stdout', buf, start, end, overflow),
      );
      return;
    }
    const final = log.endsWith('\n');
    const text = final ? log.slice(0, -1) : log;
    // Short complete messages need no byte view: at most 3 bytes per UTF-16 unit.
    if (final && !this.parts.busy && text.length * 3 <= this.ctx.maxLineBytes) {
      this.ctx.counters.records++;
      out.push({ stream: this.stream, timeMs, streamName: stream, text, truncated: false });
      return;
    }
    const bytes = Buffer.from(text, 'utf8');
    if (final && !this.parts.busy) {
      this.parts.single(out, stream, timeMs, bytes, 0, bytes.length, 0);
      return;
    }
    this.parts.piece(out, stream, timeMs, offset, bytes, 0, bytes.length, 0, final);
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

  private time(value: string): number {
    if (value.length > this.scratch.length) return Number.NaN;
    const n = this.scratch.write(value, 0, 'latin1');
    return parseRfc3339(this.scratch, 0, n);
  }
}
