import { describe, expect, it } from 'vitest';
import { levelOf } from '../../../agent/detect/logs/levels.ts';
import { TemplateMiner } from '../../../agent/detect/logs/miner.ts';
import { LogSignalDetector, type LogSignalOptions } from '../../../agent/detect/logs/signals.ts';
import { type StreamWindow, WindowAccumulator } from '../../../agent/detect/logs/window.ts';
import type { Subject } from '../../../common/signal.ts';

const SUBJECT: Subject = { kind: 'container', namespace: 'payments', pod: 'api-7f9c', container: 'api' };
const WINDOW_MS = 10_000;

/** A constructed stream: mines each window's lines with one miner and feeds the detector. */
class Stream {
  readonly miner = new TemplateMiner();
  readonly detector: LogSignalDetector;
  private index = 0;

  constructor(opts: LogSignalOptions = {}) {
    this.detector = new LogSignalDetector(opts);
  }

  window(lines: string[]): ReturnType<LogSignalDetector['observe']> {
    const start = this.index * WINDOW_MS;
    const acc = new WindowAccumulator(SUBJECT, start);
    for (const line of lines) {
      const r = this.miner.add(line);
      acc.add(line, r.templateId, r.template, r.isNew);
    }
    this.index++;
    const w: StreamWindow = acc.close(start + WINDOW_MS);
    return this.detector.observe(w);
  }
}

// Normal traffic: a few request lines per window with varying numbers.
function normal(i: number, n = 5): string[] {
  return Array.from({ length: n }, (_, k) => `GET /api/items/${i * 10 + k} 200 ${k + 3}ms`);
}

function warm(stream: Stream, windows = 30): void {
  for (let i = 0; i < windows; i++) expect(stream.window(normal(i))).toEqual([]);
}

describe('log signals', () => {
  it('stays quiet during warm-up even though every template is new', () => {
    const s = new Stream();
    expect(s.window(['boot step 1', 'error: config missing key x', 'listening on :8080'])).toEqual([]);
    expect(s.detector.warmingUp).toBe(true);
  });

  it('reports a never-seen error template with its level, exemplars and a one-line explanation', () => {
    const s = new Stream();
    warm(s);
    const lines = Array.from({ length: 12 }, (_, i) => `connection refused to 10.0.0.${i}:5432`);
    const signals = s.window([...normal(31), ...lines]);
    // The same lines are also an error-rate jump (none before); each signal says its own thing.
    expect(signals.map((x) => x.kind).sort()).toEqual(['log.error_rate_jump', 'log.new_template']);
    const sig = signals.find((x) => x.kind === 'log.new_template')!;
    expect(sig.kind).toBe('log.new_template');
    expect(sig.severity).toBe('error');
    expect(sig.explanation).toBe(
      'new error template in payments/api-7f9c: "connection refused to <*>" (12 lines in 10 s)',
    );
    expect(sig.evidence?.lines).toHaveLength(5);
    expect(sig.subject).toEqual(SUBJECT);
  });

  it('weights new templates by level words: info < warning < error < fatal', () => {
    expect(levelOf('user logged in')).toBe('info');
    expect(levelOf('WARN: disk 91% full')).toBe('warning');
    expect(levelOf('java.lang.NullPointerException at Foo')).toBe('info');
    expect(levelOf('Unhandled exception in handler')).toBe('error');
    expect(levelOf('panic: runtime error: index out of range')).toBe('critical');
    const s = new Stream();
    warm(s);
    const [sig] = s.window([...normal(31), 'panic: runtime error: invalid memory address']);
    expect(sig?.severity).toBe('critical');
    const [info] = s.window([...normal(32), 'cache warmed with all entries']);
    expect(info?.severity).toBe('info');
    expect(info!.score).toBeLessThan(sig!.score);
  });

  it('caps new-template signals per window and says how many more there were', () => {
    const s = new Stream();
    warm(s);
    const fresh = ['alpha', 'bravo', 'charlie', 'delta', 'echo'].map((w, i) => `${w} ${'x '.repeat(i)}done`);
    const signals = s.window([...normal(31), ...fresh]);
    expect(signals).toHaveLength(3);
    expect(signals[0]!.explanation).toContain('2 more new templates');
  });

  it('reports a template bursting above its baseline', () => {
    const s = new Stream();
    warm(s);
    const signals = s.window(normal(31, 200));
    const burst = signals.find((x) => x.kind === 'log.template_burst');
    expect(burst).toBeDefined();
    expect(burst!.explanation).toMatch(/bursts to 200 lines in 10 s \(baseline 5\.\d\)/);
    expect(burst!.evidence?.lines?.length).toBeLessThanOrEqual(5);
  });

  it('does not call a steady high rate a burst', () => {
    const s = new Stream();
    for (let i = 0; i < 60; i++) {
      const signals = s.window(normal(i, 200));
      expect(signals.filter((x) => x.kind === 'log.template_burst')).toEqual([]);
    }
  });

  it('reports an error-rate jump with error exemplars', () => {
    const s = new Stream();
    for (let i = 0; i < 30; i++) s.window([...normal(i), `request ${i} failed: timeout after 30s`]);
    const errors = Array.from({ length: 40 }, (_, i) => `request ${i} failed: timeout after 30s`);
    const signals = s.window([...normal(31), ...errors]);
    const jump = signals.find((x) => x.kind === 'log.error_rate_jump');
    expect(jump).toBeDefined();
    expect(jump!.severity).toBe('error');
    expect(jump!.explanation).toContain('error lines in payments/api-7f9c jump to 40 in 10 s');
    expect(jump!.evidence?.lines).toHaveLength(5);
  });

  it('does not report a steady error rate', () => {
    const s = new Stream();
    for (let i = 0; i < 60; i++) {
      const errs = Array.from({ length: 20 }, (_, k) => `request ${k} failed: timeout after 30s`);
      expect(s.window([...normal(i), ...errs]).filter((x) => x.kind === 'log.error_rate_jump')).toEqual([]);
    }
  });

  it('reports silence once when a container that always logs stops, and re-arms when it resumes', () => {
    const s = new Stream();
    warm(s, 60);
    const quiet: string[] = [];
    for (let i = 0; i < 10; i++) for (const sig of s.window([])) quiet.push(sig.kind);
    expect(quiet).toEqual(['log.silence']);
    s.window(normal(100));
    warm(s, 40);
    const again = Array.from({ length: 6 }, () => s.window([])).flat();
    expect(again.map((x) => x.kind)).toEqual(['log.silence']);
  });

  it('does not report silence for a container that logs only now and then', () => {
    const s = new Stream();
    for (let i = 0; i < 100; i++) {
      const signals = s.window(i % 10 === 0 ? normal(i) : []);
      expect(signals.filter((x) => x.kind === 'log.silence')).toEqual([]);
    }
  });

  it('keeps the baselines of the templates seen most recently when a stream has more than it tracks', () => {
    const detector = new LogSignalDetector({ maxTrackedTemplates: 3 });
    const observe = (index: number, ids: string[]) => {
      const acc = new WindowAccumulator(SUBJECT, index * WINDOW_MS);
      for (const id of ids) acc.add(`line of ${id}`, id, `template ${id}`, false);
      detector.observe(acc.close((index + 1) * WINDOW_MS));
    };
    observe(0, ['a', 'b', 'c']);
    observe(1, ['a']);
    observe(2, ['c']);
    observe(3, ['d']);
    // b was seen longest ago; a was inserted first but seen since.
    const tracked = () => detector.snapshot().templates.map(([id]) => id);
    expect(tracked()).toEqual(['a', 'c', 'd']);
    // e evicts a (seen at window 1), then a, new again, evicts c (window 2).
    observe(4, ['e', 'a']);
    expect(tracked()).toEqual(['d', 'e', 'a']);
    // A restore with a smaller cap keeps the most recent.
    const small = new LogSignalDetector({ maxTrackedTemplates: 2 });
    small.restore(detector.snapshot());
    expect(small.snapshot().templates.map(([id]) => id)).toEqual(['e', 'a']);
  });
});
