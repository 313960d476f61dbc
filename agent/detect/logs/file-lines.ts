// Reads a file as lines of text for batch tools (the `templates` CLI): bytes are split on LF before decoding,
// so a multi-byte character is never cut; invalid UTF-8 decodes to U+FFFD instead of failing; a trailing CR is
// dropped (CRLF files); a last line without LF still counts as a line.
import { createReadStream } from 'node:fs';

const CHUNK_BYTES = 1 << 20;

/** Yields the file's lines in batches (arrays), to keep per-line overhead off the hot path. */
export async function* readLineBatches(path: string): AsyncGenerator<string[]> {
  const decoder = new TextDecoder('utf-8', { fatal: false, ignoreBOM: false });
  let carry: Buffer | undefined;
  for await (const chunk of createReadStream(path, { highWaterMark: CHUNK_BYTES })) {
    const buf: Buffer = carry ? Buffer.concat([carry, chunk as Buffer]) : (chunk as Buffer);
    const lines: string[] = [];
    let start = 0;
    for (let nl = buf.indexOf(10, start); nl !== -1; nl = buf.indexOf(10, start)) {
      lines.push(decodeLine(decoder, buf, start, nl));
      start = nl + 1;
    }
    carry = start < buf.length ? buf.subarray(start) : undefined;
    if (lines.length > 0) yield lines;
  }
  if (carry && carry.length > 0) yield [decodeLine(decoder, carry, 0, carry.length)];
}

function decodeLine(
  decoder: InstanceType<typeof TextDecoder>,
  buf: Buffer,
  start: number,
  end: number,
): string {
  const stop = end > start && buf[end - 1] === 13 ? end - 1 : end;
  return decoder.decode(buf.subarray(start, stop));
}
