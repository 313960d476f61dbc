import type { ParseContext } from './line-parser.ts';
import { truncationMarker, utf8CutEnd } from './truncate.ts';
import type { LogRecord, StreamKey, StreamName } from './types.ts';

/** A whole physical line as one record (host logs, and lines that failed to parse), capped and decoded. */
export function rawRecord(
  ctx: ParseContext,
  stream: StreamKey,
  streamName: StreamName,
  buf: Buffer,
  start: number,
  end: number,
  overflow: number,
): LogRecord {
  let e = end;
  if (overflow === 0 && e > start && buf[e - 1] === 13) e--; // CRLF files
  const cut = utf8CutEnd(buf, start, e, ctx.maxLineBytes);
  const dropped = e - cut + overflow;
  let text = buf.toString('utf8', start, cut);
  if (dropped > 0) {
    text += truncationMarker(dropped);
    ctx.counters.truncations++;
  }
  ctx.counters.records++;
  return { stream, timeMs: ctx.nowMs, streamName, text, truncated: dropped > 0 };
}
