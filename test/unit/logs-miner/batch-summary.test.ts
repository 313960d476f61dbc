import { describe, expect, it } from 'vitest';
import {
  type BatchSummary,
  forEachSummary,
  packSummaries,
} from '../../../agent/detect/logs/batch-summary.ts';
import { levelOf } from '../../../agent/detect/logs/levels.ts';
import { maskLine, maskRange } from '../../../agent/detect/logs/masking.ts';
import { TemplateMiner } from '../../../agent/detect/logs/miner.ts';
import { StreamMiner } from '../../../agent/detect/logs/mining-worker.ts';
import { TemplateLevels } from '../../../agent/detect/logs/template-levels.ts';
import { WindowAccumulator } from '../../../agent/detect/logs/window.ts';
import { LineBatchCollector } from '../../../agent/sources/logs/line-batches.ts';
import type { StreamKey } from '../../../agent/sources/logs/types.ts';
import { EVIDENCE_MAX_LINE_CHARS, type Subject } from '../../../common/signal.ts';

const SUBJECT: Subject = { kind: 'container', namespace: 'shop', pod: 'api-1', container: 'api' };
const KEY: StreamKey = { kind: 'host', id: 'host:syslog', name: 'syslog', path: '/var/log/syslog' };

const LINES = [
  'GET /api/items/1 200 3ms',
  'GET /api/items/2 200 5ms',
  'ERROR payment 7 failed: connection refused to db:5432',
  'user alice logged in',
  'user bob logged in',
  'user carol failed to log in',
  'WARN: disk 91% full',
  'worker started',
];

/** The level of each line the way the mining worker sees it: through its template. */
function templateLevels(lines: string[]): string[] {
  const miner = new TemplateMiner();
  const levels = new TemplateLevels();
  return lines.map((line) => {
    const r = miner.add(line);
    return levels.levelOf(
      r.templateId,
      r.template,
      miner.lastTemplateTokens,
      miner.lastLineTokens,
      line,
      0,
      line.length,
    );
  });
}

describe('maskRange', () => {
  it('masks a line inside a batch exactly as maskLine masks it alone', () => {
    const batch = LINES.join('\n');
    let from = 0;
    for (const line of LINES) {
      expect(maskRange(batch, from, from + line.length)).toEqual(maskLine(line));
      from += line.length + 1;
    }
  });

  it('remembers punctuated words without changing their masking', () => {
    const line = 'dfs.DataNode$PacketResponder: PacketResponder rhost=a.example.com user=root [main]';
    expect(maskLine(line)).toEqual(maskLine(line));
    expect(maskLine(line).join(' ')).toBe(
      'dfs.DataNode$PacketResponder: PacketResponder rhost=<*> user=root [main]',
    );
  });
});

describe('TemplateLevels', () => {
  it('takes the level from the template and from words at generalised positions', () => {
    expect(templateLevels(LINES)).toEqual(LINES.map((l) => levelOf(l)));
  });

  it('sees a level word that arrives in a generalised position', () => {
    const lines = [
      'job 1 state ok now',
      'job 2 state fine now',
      'job 3 state good now',
      'job 4 state failed now',
    ];
    expect(templateLevels(lines)).toEqual(['info', 'info', 'info', 'error']);
  });

  it('ignores level words inside masked values (paths, URLs)', () => {
    expect(templateLevels(['GET /api/errors/5 200 ok'])).toEqual(['info']);
    expect(levelOf('GET /api/errors/5 200 ok')).toBe('error');
  });
});

describe('StreamMiner.summarize', () => {
  it('returns per-template counts, levels, error counts and first lines instead of per-line ids', () => {
    const s = new StreamMiner(new TemplateMiner());
    const b = s.summarize(LINES, 0, 'shop/api-1/api');
    expect(b.lines).toBe(LINES.length);
    expect(b.errorLines).toBe(2);
    expect(b.errorExemplars).toEqual([LINES[2]]);
    expect(b.templates.reduce((n, t) => n + t.count, 0)).toBe(LINES.length);
    const get = b.templates.find((t) => t.template.startsWith('GET'));
    expect(get).toMatchObject({ count: 2, isNew: true, level: 'info', errorCount: 0 });
    expect(get?.exemplars).toEqual([LINES[0]]);
    expect(s.exemplarsOf(0, [get!.id])).toEqual({
      templates: [LINES.slice(0, 2)],
      errors: [LINES[2], LINES[5]],
    });
    expect(b.templates.find((t) => t.template.startsWith('ERROR'))?.level).toBe('error');
    expect(b.templates.find((t) => t.template.startsWith('WARN'))?.level).toBe('warning');
  });

  it('keeps exemplars per template and per window across batches (capped), and starts again in the next window', () => {
    const s = new StreamMiner(new TemplateMiner());
    const batch = (k: number) => Array.from({ length: 3 }, (_, i) => `request ${k * 3 + i} failed with 500`);
    const first = s.summarize(batch(0), 7);
    const second = s.summarize(batch(1), 7);
    const third = s.summarize(batch(2), 7);
    // Only the window's first line crosses, once; the worker keeps the first five.
    expect([first, second, third].map((b) => b.templates[0]?.exemplars)).toEqual([[batch(0)[0]], [], []]);
    expect([first, second, third].map((b) => b.errorExemplars)).toEqual([[batch(0)[0]], [], []]);
    const id = first.templates[0]!.id;
    const window7 = [...batch(0), ...batch(1)].slice(0, 5);
    expect(s.exemplarsOf(7, [id])).toEqual({ templates: [window7], errors: window7 });
    const next = s.summarize(batch(3), 8);
    expect(next.templates[0]?.exemplars).toEqual([batch(3)[0]]);
    expect(next.errorExemplars).toEqual([batch(3)[0]]);
    expect(s.exemplarsOf(8, [id])).toEqual({ templates: [batch(3)], errors: batch(3) });
    expect(s.exemplarsOf(7, [id])).toEqual({ templates: [[]], errors: [] });
  });

  it('keeps exemplars cut at EVIDENCE_MAX_LINE_CHARS, decoded from byte lines or from long record lines', () => {
    const long = `ERROR ${'x'.repeat(2000)}`;
    const wide = `ERROR ${'é'.repeat(1000)}`;
    const collector = new LineBatchCollector();
    for (const line of [long, wide]) {
      const buf = Buffer.from(line);
      collector.add(KEY, buf, 0, buf.length);
    }
    const batch = collector.take()!;
    const s = new StreamMiner(new TemplateMiner());
    s.summarizeBytes(batch.bytes, batch.ends, 0);
    s.summarize([long], 0);
    const { errors } = s.exemplarsOf(0, []);
    const cut = (line: string) => `${line.slice(0, EVIDENCE_MAX_LINE_CHARS)}…`;
    expect(errors).toEqual([cut(long), cut(wide), cut(long)]);
  });

  it('reports a template merged during the batch under the surviving id', () => {
    const s = new StreamMiner(new TemplateMiner());
    const users = ['alice', 'bob', 'carol', 'dave', 'erin', 'frank'];
    const b = s.summarize(
      users.map((u) => `session opened for ${u} by sshd`),
      0,
    );
    const ids = new Set(b.templates.map((t) => t.id));
    expect(ids.size).toBe(b.templates.length);
    expect(b.templates.every((t) => s.miner.resolve(t.id) === t.id)).toBe(true);
    expect(b.templates.reduce((n, t) => n + t.count, 0)).toBe(users.length);
  });
});

describe('WindowAccumulator.addBatch', () => {
  it('accumulates batch summaries like lines added one by one (exemplars: the first only)', () => {
    const perLine = new WindowAccumulator(SUBJECT, 0);
    const miner = new TemplateMiner();
    for (const line of LINES) {
      const r = miner.add(line);
      perLine.add(line, r.templateId, r.template, r.isNew);
    }
    const batched = new WindowAccumulator(SUBJECT, 0);
    const s = new StreamMiner(new TemplateMiner());
    batched.addBatch(s.summarize(LINES.slice(0, 4), 0));
    batched.addBatch(s.summarize(LINES.slice(4), 0));
    const a = perLine.close(10_000);
    const b = batched.close(10_000);
    expect(b.lines).toBe(a.lines);
    expect(b.errorLines).toBe(a.errorLines);
    expect(b.errorExemplars).toEqual(a.errorExemplars.slice(0, 1));
    const shape = (w: typeof a) =>
      w.templates
        .map((t) => [t.id, t.template, t.count, t.isNew, t.level, t.errorCount, t.exemplars[0]])
        .sort((x, y) => String(x[0]).localeCompare(String(y[0])));
    expect(shape(b)).toEqual(shape(a));
  });
});

describe('WindowAccumulator.next', () => {
  it('starts each window empty though it reuses its entries, and leaves the closed window intact', () => {
    const acc = new WindowAccumulator(SUBJECT, 0);
    acc.add('GET /a 200', 'get', 'GET <*> 200', true);
    acc.add('GET /b 200', 'get', 'GET <*> 200', false);
    acc.add('ERROR db down', 'err', 'ERROR db down', true);
    acc.add('worker started', 'start', 'worker started', true);
    const first = acc.close(10_000);
    const firstExemplars = first.templates.map((t) => t.exemplars);
    acc.next(10_000);
    acc.add('GET /c 200', 'get', 'GET <*> 200', false);
    acc.add('worker started', 'start', 'worker started', false);
    const second = acc.close(20_000);
    expect(second.startMs).toBe(10_000);
    expect(second.lines).toBe(2);
    expect(second.errorLines).toBe(0);
    expect(second.errorExemplars).toEqual([]);
    const shape = (w: typeof first) =>
      w.templates.map((t) => [t.id, t.count, t.isNew, t.level, t.errorCount, t.exemplars]);
    expect(shape(second)).toEqual([
      ['get', 1, false, 'info', 0, ['GET /c 200']],
      ['start', 1, false, 'info', 0, ['worker started']],
    ]);
    // Arrays the first window handed out still say what it held after the second began (its template entries
    // are reused: valid until next()).
    expect(first.lines).toBe(4);
    expect(first.errorExemplars).toEqual(['ERROR db down']);
    expect(firstExemplars).toEqual([['GET /a 200', 'GET /b 200'], ['ERROR db down'], ['worker started']]);
    acc.next(20_000);
    acc.add('ERROR db down', 'err', 'ERROR db down', false);
    // An entry unused for a whole window is dropped; used again, it has this window's values only.
    expect(shape(acc.close(30_000))).toEqual([['err', 1, false, 'error', 1, ['ERROR db down']]]);
  });
});

describe('packSummaries / forEachSummary', () => {
  it('carries the batch summaries of many streams across the thread boundary in columns without losing anything', () => {
    const shop = new StreamMiner(new TemplateMiner());
    const cart = new StreamMiner(new TemplateMiner());
    const quiet = new StreamMiner(new TemplateMiner());
    const summaries = [
      shop.summarize([...LINES, 'FATAL panic in worker 3', 'GET /api/items/9 200 4ms'], 0, 'shop'),
      quiet.summarize([], 0, 'quiet'),
      cart.summarize(['ERROR cart 7 failed: timeout', 'ERROR cart 8 failed: timeout', 'cart ok'], 0, 'cart'),
    ];
    expect(summaries[0]!.templates.some((t) => t.level === 'critical')).toBe(true);
    expect(summaries[2]!.errorExemplars.length).toBeGreaterThan(0);
    const packed = structuredClone(packSummaries(summaries));
    const unpacked: BatchSummary[] = [];
    forEachSummary(packed, (summary, k) => {
      unpacked[k] = summary;
    });
    expect(unpacked).toEqual(summaries);
  });
});
