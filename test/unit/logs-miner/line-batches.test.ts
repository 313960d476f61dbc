import { describe, expect, it } from 'vitest';
import { forEachLine } from '../../../agent/detect/logs/line-texts.ts';
import { TemplateMiner } from '../../../agent/detect/logs/miner.ts';
import { StreamMiner } from '../../../agent/detect/logs/mining-worker.ts';
import { LineBatchCollector } from '../../../agent/sources/logs/line-batches.ts';
import type { StreamKey } from '../../../agent/sources/logs/types.ts';

const stream = (id: string): StreamKey => ({ kind: 'host', id, name: id, path: `/var/log/${id}` });

/** Collects `lines` of one stream the way the CRI parser does: each line a span of a larger read chunk. */
function collect(c: LineBatchCollector, key: StreamKey, lines: string[]): void {
  const chunk = Buffer.from(lines.map((l) => `2026-01-01T00:00:00Z stdout F ${l}\n`).join(''));
  let at = 0;
  for (const l of lines) {
    const start = at + '2026-01-01T00:00:00Z stdout F '.length;
    const end = start + Buffer.byteLength(l);
    c.add(key, chunk, start, end);
    at = end + 1;
  }
}

function textsOf(bytes: Uint8Array, ends: Int32Array): string[] {
  const out: string[] = [];
  forEachLine(bytes, ends, (text, from, to) => out.push(text.slice(from, to)));
  return out;
}

describe('LineBatchCollector and forEachLine', () => {
  it('gives back every line of every stream, in order, byte for byte', () => {
    const c = new LineBatchCollector();
    const a = ['GET /a 200', '', 'naïve café ☕ ünïcode', 'x'.repeat(5000)];
    const b = Array.from({ length: 3000 }, (_, i) => `worker ${i} tick ok`);
    collect(c, stream('a'), a.slice(0, 2));
    collect(c, stream('b'), b);
    collect(c, stream('a'), a.slice(2));
    const batches = c.take();
    expect(batches.map((x) => x.stream.id)).toEqual(['a', 'b']);
    expect(textsOf(batches[0]!.bytes, batches[0]!.ends)).toEqual(a);
    // 3,000 lines are several decode windows; every line still comes out whole.
    expect(textsOf(batches[1]!.bytes, batches[1]!.ends)).toEqual(b);
    expect(c.take()).toEqual([]);
  });

  it('reuses recycled buffers without mixing in the lines they held before', () => {
    const c = new LineBatchCollector();
    collect(c, stream('a'), ['first line that is rather long', 'second']);
    const [first] = c.take();
    c.recycle(first!.bytes, first!.ends);
    collect(c, stream('a'), ['third']);
    const [next] = c.take();
    expect(textsOf(next!.bytes, next!.ends)).toEqual(['third']);
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
    const [batch] = c.take();
    const fromBytes = new StreamMiner(new TemplateMiner()).summarizeBytes(batch!.bytes, batch!.ends, 0, 's');
    const fromStrings = new StreamMiner(new TemplateMiner()).summarize(lines, 0, 's');
    expect(fromBytes).toEqual(fromStrings);
    expect(fromBytes.templates.reduce((n, t) => n + t.count, 0)).toBe(lines.length);
    expect(fromBytes.errorLines).toBeGreaterThanOrEqual(2);
  });
});
