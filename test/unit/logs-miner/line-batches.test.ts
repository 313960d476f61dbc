import { describe, expect, it } from 'vitest';
import { forEachLine } from '../../../agent/detect/logs/line-texts.ts';
import { TemplateMiner } from '../../../agent/detect/logs/miner.ts';
import { StreamMiner } from '../../../agent/detect/logs/mining-worker.ts';
import {
  type LineBatch,
  LineBatchCollector,
  segmentBytes,
} from '../../../agent/sources/logs/line-batches.ts';
import type { StreamKey } from '../../../agent/sources/logs/types.ts';

const stream = (id: string): StreamKey => ({ kind: 'host', id, name: id, path: `/var/log/${id}` });
const HEADER = '2026-01-01T00:00:00Z stdout F ';

/** Collects `lines` of one stream the way the CRI parser does: each line a span of a larger read chunk. */
function collect(c: LineBatchCollector, key: StreamKey, lines: string[]): void {
  const chunk = Buffer.from(lines.map((l) => `${HEADER}${l}\n`).join(''));
  let at = 0;
  for (const l of lines) {
    const start = at + HEADER.length;
    const end = start + Buffer.byteLength(l);
    c.add(key, chunk, start, end);
    at = end + 1;
  }
}

/** Every stream's lines of a batch, in order, from its segments. */
function linesByStream(batch: LineBatch): Map<string, string[]> {
  const out = new Map<string, string[]>();
  for (const seg of batch.segments) {
    const list = out.get(seg.stream.id) ?? [];
    forEachLine(batch.bytes, batch.ends, seg.from, seg.to, (text, from, to) =>
      list.push(text.slice(from, to)),
    );
    out.set(seg.stream.id, list);
  }
  return out;
}

describe('LineBatchCollector and forEachLine', () => {
  it('gives back every line of every stream, in order, byte for byte, from one buffer per poll', () => {
    const c = new LineBatchCollector();
    const a = ['GET /a 200', '', 'naïve café ☕ ünïcode', 'x'.repeat(5000)];
    const b = Array.from({ length: 3000 }, (_, i) => `worker ${i} tick ok`);
    collect(c, stream('a'), a.slice(0, 2));
    collect(c, stream('b'), b);
    collect(c, stream('a'), a.slice(2));
    const batch = c.take()!;
    // Three runs: a, b, a again (a file read in two turns of one poll).
    expect(batch.segments.map((s) => [s.stream.id, s.to - s.from])).toEqual([
      ['a', 2],
      ['b', 3000],
      ['a', 2],
    ]);
    const lines = linesByStream(batch);
    expect(lines.get('a')).toEqual(a);
    // 3,000 lines are several decode windows; every line still comes out whole.
    expect(lines.get('b')).toEqual(b);
    const bytes = batch.segments.reduce((n, s) => n + segmentBytes(batch.ends, s.from, s.to), 0);
    expect(bytes).toBe(batch.bytes.length);
    expect(c.take()).toBeUndefined();
  });

  it('reuses recycled buffers without mixing in the lines they held before', () => {
    const c = new LineBatchCollector();
    collect(c, stream('a'), ['first line that is rather long, longer than thirty-two bytes', 'second']);
    const first = c.take()!;
    c.recycle(first.bytes, first.ends);
    collect(c, stream('a'), ['third']);
    expect(linesByStream(c.take()!).get('a')).toEqual(['third']);
  });
});

describe('StreamMiner.summarizeBytes', () => {
  it('counts a byte batch exactly as the same lines given as strings', () => {
    const lines = [
      ...Array.from({ length: 2500 }, (_, i) => `request ${i} from 10.0.0.${i % 250} took ${i % 97} ms`),
      'ERROR database connection refused: retrying in 5s',
      'Überprüfung fehlgeschlagen für Benutzer 42',
      '{"level":"error","msg":"payment failed","order":17}',
    ];
    const c = new LineBatchCollector();
    collect(c, stream('s'), lines);
    const batch = c.take()!;
    const fromBytes = new StreamMiner(new TemplateMiner()).summarizeBytes(batch.bytes, batch.ends, 0, 's');
    const fromStrings = new StreamMiner(new TemplateMiner()).summarize(lines, 0, 's');
    expect(fromBytes).toEqual(fromStrings);
    expect(fromBytes.templates.reduce((n, t) => n + t.count, 0)).toBe(lines.length);
    expect(fromBytes.errorLines).toBeGreaterThanOrEqual(2);
  });
});
