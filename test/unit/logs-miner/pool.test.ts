import { afterEach, describe, expect, it } from 'vitest';
import type { MinerSnapshot } from '../../../agent/detect/logs/miner.ts';
import { LogMiningPool, shardOf } from '../../../agent/detect/logs/pool.ts';
import { LineBatchCollector } from '../../../agent/sources/logs/line-batches.ts';

let pool: LogMiningPool | undefined;
afterEach(async () => {
  await pool?.close();
  pool = undefined;
});

describe('LogMiningPool (real piscina worker threads)', () => {
  it('mines batches in the worker and returns ids per line plus the templates touched', async () => {
    pool = new LogMiningPool({ threads: 2 });
    const res = await pool.mine('ns/pod/app', [
      'GET /a 200 ok',
      'GET /b 200 ok',
      'db refused to 10.0.0.1:5432',
    ]);
    expect(res.templateIds).toHaveLength(3);
    expect(res.templateIds[0]).toBe(res.templateIds[1]);
    expect(res.templates.map((t) => [t.template, t.isNew, t.count])).toEqual([
      ['GET <*> ok', true, 2],
      ['db refused to <*>', true, 1],
    ]);
    const again = await pool.mine('ns/pod/app', ['GET /c 404 ok']);
    expect(again.templateIds[0]).toBe(res.templateIds[0]);
    expect(again.templates[0]?.isNew).toBe(false);
    // Nothing was created or generalised: a caller need not snapshot this stream again.
    expect(again.changes).toBe(res.changes);
    const moved = await pool.mine('ns/pod/app', ['a brand new line']);
    expect(moved.changes).toBeGreaterThan(res.changes);
  });

  it('keeps one miner per stream', async () => {
    pool = new LogMiningPool({ threads: 2 });
    const a = await pool.mine('a', ['alpha one', 'bravo two three']);
    const b = await pool.mine('b', ['bravo two three']);
    expect(b.templateIds[0]).toBe('t1');
    expect(a.templateIds[1]).toBe('t2');
    expect(b.templates[0]?.isNew).toBe(true);
  });

  it('keeps batch order per stream under concurrent submission', async () => {
    pool = new LogMiningPool({ threads: 2 });
    // Batch i is one line of i + 1 tokens: a new template each, so ids show the order batches were mined in.
    const batches = Array.from({ length: 20 }, (_, i) => [
      Array.from({ length: i + 1 }, () => 'tick').join(' '),
    ]);
    const results = await Promise.all(batches.map((b) => pool!.mine('s', b)));
    expect(results.map((r) => r.templateIds[0])).toEqual(results.map((_, i) => `t${i + 1}`));
  });

  it('restores a stream from a snapshot so ids survive a restart', async () => {
    pool = new LogMiningPool();
    const first = await pool.mine('s', ['cache miss for key 1', 'worker started']);
    const snap = (await pool.snapshot('s')) as MinerSnapshot;
    expect(snap).not.toBeNull();
    await pool.close();
    pool = new LogMiningPool();
    await pool.restore('s', JSON.parse(JSON.stringify(snap)) as MinerSnapshot);
    const after = await pool.mine('s', ['cache miss for key 2', 'worker started']);
    expect(after.templateIds).toEqual(first.templateIds);
    expect(after.templates.every((t) => !t.isNew)).toBe(true);
    expect(await pool.snapshot('unknown')).toBeNull();
  });

  it('counts lines over the template cap per batch', async () => {
    pool = new LogMiningPool({ minerOptions: { maxTemplates: 1 } });
    const res = await pool.mine('s', ['one', 'two words', 'three more words']);
    expect(res.overflow).toBe(2);
    expect(res.templateIds.slice(1)).toEqual(['overflow', 'overflow']);
  });

  it('routes a stream to the same shard every time', () => {
    expect(shardOf('ns/pod/c', 4)).toBe(shardOf('ns/pod/c', 4));
    expect(() => new LogMiningPool({ threads: 0 })).toThrow(/options.threads/);
  });
});

/** One stream's batch through `summarizeMany`. */
async function summarizeOne(p: LogMiningPool, stream: string, lines: string[], window: number) {
  const [summary] = await p.summarizeMany([{ stream, lines }], window);
  return summary!;
}

describe('LogMiningPool.summarizeMany', () => {
  it('mines a batch in the worker and answers per template with its first line; the window keeps the others', async () => {
    pool = new LogMiningPool();
    await pool.ready();
    const lines = Array.from({ length: 8 }, (_, i) => `GET /items/${i} 200 ok`);
    const first = await summarizeOne(pool, 's', [...lines.slice(0, 3), 'ERROR db down', 'ERROR db lost'], 0);
    expect(first.lines).toBe(5);
    expect(first.templates[0]).toMatchObject({
      template: 'GET <*> ok',
      count: 3,
      isNew: true,
      level: 'info',
      exemplars: [lines[0]],
    });
    expect(first.errorExemplars).toEqual(['ERROR db down']);
    const id = first.templates[0]!.id;
    const same = await summarizeOne(pool, 's', lines.slice(3), 0);
    expect(same.templates[0]).toMatchObject({ id, count: 5, isNew: false, exemplars: [] });
    expect(same.changes).toBe(first.changes);
    // The window's exemplars, across both batches, capped: what a signal of window 0 cites.
    const [kept, unknown] = await pool.exemplars(
      [
        { stream: 's', templates: [id, 'no-such-template'], errors: true },
        { stream: 'never-seen', templates: [id], errors: true },
      ],
      0,
    );
    expect(kept).toEqual({ templates: [lines.slice(0, 5), []], errors: ['ERROR db down', 'ERROR db lost'] });
    expect(unknown).toEqual({ templates: [], errors: [] });
    const next = await summarizeOne(pool, 's', lines, 1);
    expect(next.templates[0]?.exemplars).toEqual([lines[0]]);
    // Window 0 is gone once window 1 has begun.
    expect((await pool.exemplars([{ stream: 's', templates: [id], errors: true }], 0))[0]).toEqual({
      templates: [[]],
      errors: [],
    });
    expect((await pool.cpuSeconds()).every((s) => s > 0)).toBe(true);
  });

  it('summarizes many streams in one call exactly as one call per stream, in input order', async () => {
    const streams = ['a', 'b', 'c', 'd', 'e'];
    const batch = (st: string, n: number) =>
      Array.from(
        { length: n },
        (_, i) => `${st} request ${i} took ${i * 3} ms${i % 4 === 0 ? ' ERROR' : ''}`,
      );
    const one = new LogMiningPool({ threads: 2 });
    const many = new LogMiningPool({ threads: 2 });
    try {
      for (const window of [0, 0, 1]) {
        const separate = await Promise.all(
          streams.map((st, i) => summarizeOne(one, st, batch(st, 3 + i), window)),
        );
        const together = await many.summarizeMany(
          streams.map((st, i) => ({ stream: st, lines: batch(st, 3 + i) })),
          window,
        );
        expect(together.map((t) => t.stream)).toEqual(streams);
        expect(together).toEqual(separate);
      }
    } finally {
      await one.close();
      await many.close();
    }
  });

  it('mines the byte lines of several streams moved to the worker like strings, and hands the buffers back', async () => {
    pool = new LogMiningPool({ threads: 2 });
    const lines = (k: string) =>
      Array.from({ length: 300 }, (_, i) => `job ${i} of ${k} finished in ${i % 13} ms ok`);
    const streams = ['ns/a/app', 'ns/b/app', 'ns/c/app'];
    const collector = new LineBatchCollector();
    for (const id of streams) {
      const text = lines(id);
      const chunk = Buffer.from(text.join('\n'));
      let at = 0;
      for (const l of text) {
        collector.add({ kind: 'host', id, name: id, path: `/${id}` }, chunk, at, at + l.length);
        at += l.length + 1;
      }
    }
    const batch = collector.take()!;
    const returned: Array<[Uint8Array, Int32Array]> = [];
    const fromBytes = await pool.summarizeMany(
      batch.segments.map((s) => ({ stream: s.stream.id, lines: [], segments: [s.from, s.to] })),
      0,
      { bytes: batch.bytes, ends: batch.ends },
      (bytes, ends) => returned.push([bytes, ends]),
    );
    // Moved, not copied: the sender's views are detached. The buffers come back from every shard that mined
    // some of them (the first got them moved, another a copy).
    expect(batch.bytes.byteLength).toBe(0);
    const shards = new Set(streams.map((id) => shardOf(id, 2)));
    expect(returned).toHaveLength(shards.size);
    const plain = new LogMiningPool({ threads: 1 });
    try {
      const fromStrings = await plain.summarizeMany(
        streams.map((id) => ({ stream: id, lines: lines(id) })),
        0,
      );
      expect(fromBytes).toEqual(fromStrings);
    } finally {
      await plain.close();
    }
  });
});
