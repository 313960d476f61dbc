import { describe, expect, it } from 'vitest';
import { newCounters } from '../../../agent/sources/logs/counters.ts';
import { CriLineParser } from '../../../agent/sources/logs/cri.ts';
import { containerStreamFromPath } from '../../../agent/sources/logs/discovery.ts';
import { ChunkText, type ParseContext } from '../../../agent/sources/logs/line-parser.ts';
import type { LogRecord } from '../../../agent/sources/logs/types.ts';

const stream = containerStreamFromPath('/r/var/log/pods/ns_pod_uid/app/0.log');

/** Parses a whole chunk of CRI lines the way the reader does, with or without the chunk decoder. */
function parseChunk(lines: string[], withChunkText: boolean): string[] {
  const ctx: ParseContext = { maxLineBytes: 1 << 20, counters: newCounters(), nowMs: 0 };
  if (withChunkText) ctx.chunkText = new ChunkText();
  const parser = new CriLineParser(stream, ctx);
  const chunk = Buffer.from(`${lines.join('\n')}\n`);
  const out: LogRecord[] = [];
  ctx.chunkText?.begin(chunk, chunk.length);
  let s = 0;
  for (let nl = chunk.indexOf(10, s); nl >= 0; nl = chunk.indexOf(10, s)) {
    parser.line(chunk, s, nl, s, 0, out);
    s = nl + 1;
  }
  ctx.chunkText?.finish();
  return out.map((r) => r.text);
}

describe('ChunkText', () => {
  it('gives the same texts as decoding every line, across windows and non-ASCII lines', () => {
    const lines = Array.from({ length: 3000 }, (_, i) => {
      const msg =
        i % 97 === 0
          ? `grüße ${i} — 東京 ✓`
          : i % 500 === 0
            ? 'x'.repeat(40_000)
            : `GET /api/items/${i} 200 ok`;
      return `2024-01-01T00:00:00.${String(i).padStart(9, '0')}Z stdout F ${msg}`;
    });
    const decoded = parseChunk(lines, true);
    expect(decoded).toEqual(parseChunk(lines, false));
    expect(decoded[97]).toBe('grüße 97 — 東京 ✓');
    expect(decoded[500]).toHaveLength(40_000);
  });

  it('decodes a buffer it was not given, and after finish(), per line', () => {
    const texts = new ChunkText();
    const a = Buffer.from('hello world');
    expect(texts.decode(a, 0, 5)).toBe('hello');
    texts.begin(a, a.length);
    expect(texts.decode(a, 6, 11)).toBe('world');
    const b = Buffer.from('other bytes');
    expect(texts.decode(b, 0, 5)).toBe('other');
    texts.finish();
    a.write('HELLO');
    expect(texts.decode(a, 0, 5)).toBe('HELLO');
  });
});
