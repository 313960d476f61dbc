// Log signals per container stream, from its per-window summaries (window.ts):
//   log.new_template      a template never seen before, weighted by its level words;
//   log.template_burst    a template's count far above its learned baseline;
//   log.error_rate_jump   error lines far above their learned baseline;
//   log.silence           a stream that normally logs in (almost) every window has gone quiet.
// Baselines are exponentially weighted means and variances of per-window counts, a fixed number of numbers per
// template, with at most `maxTrackedTemplates` templates per stream (least recently seen evicted).
//
// Warm-up: a stream emits nothing during its first `warmupWindows` windows (5 min at 10 s windows): every
// template is new at first and no baseline exists yet. After that, at most `maxNewTemplateSignals` new-template
// signals per window (the worst first; the explanation says how many more there were).
//
// Restarts: a detector's learned state is a plain snapshot (`snapshot()`/`restore()`), kept by the pipeline in
// LMDB, so an agent upgrade does not blind it for another warm-up. A restored detector first *settles*: the
// windows right after a restart carry the lines written while the agent was down (the tailer resumes from its
// checkpoint), so until a window in which the tailer kept up, counts are neither compared with the baselines
// (they would all look like bursts) nor learned; new templates are still reported. At most a warm-up's
// worth of windows settle.
import { capEvidence, type Severity, type Signal, type Subject } from '../../../common/signal.ts';
import { isErrorLevel, type LogLevel, levelRank } from './levels.ts';
import type { StreamWindow, WindowTemplate } from './window.ts';

export interface LogSignalOptions {
  /** Windows a stream is only learned from before any signal. */
  warmupWindows?: number;
  /** EWMA weight of the newest window. */
  alpha?: number;
  maxNewTemplateSignals?: number;
  /** A burst needs at least this many lines in the window ... */
  burstMinCount?: number;
  /** ... at least this many times the baseline mean ... */
  burstFactor?: number;
  /** ... and this many standard deviations above it. */
  burstSigmas?: number;
  /** Windows of history a template needs before it can burst. */
  burstMinHistory?: number;
  errorMinCount?: number;
  errorFactor?: number;
  errorSigmas?: number;
  /** Consecutive empty windows that make a silence. */
  silenceWindows?: number;
  /** Share of non-empty windows (EWMA) that makes a stream one that "normally logs". */
  silenceMinActivity?: number;
  maxTrackedTemplates?: number;
}

export const DEFAULT_LOG_SIGNAL_OPTIONS: Readonly<Required<LogSignalOptions>> = Object.freeze({
  warmupWindows: 30,
  alpha: 0.05,
  maxNewTemplateSignals: 3,
  burstMinCount: 20,
  burstFactor: 4,
  burstSigmas: 4,
  burstMinHistory: 6,
  errorMinCount: 10,
  errorFactor: 3,
  errorSigmas: 4,
  silenceWindows: 6,
  silenceMinActivity: 0.9,
  maxTrackedTemplates: 2000,
});

export const LOG_SIGNAL_SOURCE = 'logs.miner';

interface Baseline {
  mean: number;
  variance: number;
  /** Window index of the last update. */
  last: number;
  /** Windows of history. */
  seen: number;
}

function newBaseline(window: number): Baseline {
  return { mean: 0, variance: 0, last: window - 1, seen: 0 };
}

// Windows with no lines for a template are zeros: decay the mean and variance for the skipped windows at once.
function decay(b: Baseline, window: number, alpha: number): void {
  const gap = window - b.last - 1;
  if (gap <= 0) return;
  const keep = (1 - alpha) ** gap;
  b.variance = keep * (b.variance + (1 - keep) * b.mean * b.mean);
  b.mean *= keep;
  b.seen += gap;
  b.last = window - 1;
}

function update(b: Baseline, value: number, window: number, alpha: number): void {
  if (b.seen === 0) {
    // Start from the first value rather than from zero, so a young baseline is not biased low.
    b.mean = value;
    b.last = window;
    b.seen = 1;
    return;
  }
  decay(b, window, alpha);
  const diff = value - b.mean;
  b.mean += alpha * diff;
  b.variance = (1 - alpha) * (b.variance + alpha * diff * diff);
  b.last = window;
  b.seen++;
}

/** Name of a subject in explanations: `namespace/pod` for containers and pods. */
export function subjectName(s: Subject): string {
  if (s.namespace && s.pod) return `${s.namespace}/${s.pod}`;
  return s.pod ?? s.workload ?? s.service ?? s.name ?? s.node ?? s.kind;
}

function levelWord(level: LogLevel): string {
  return level === 'critical'
    ? 'fatal '
    : level === 'error'
      ? 'error '
      : level === 'warning'
        ? 'warning '
        : '';
}

function seconds(w: StreamWindow): string {
  return `${Math.round((w.endMs - w.startMs) / 1000)} s`;
}

function quote(template: string): string {
  return JSON.stringify(template.length > 160 ? `${template.slice(0, 160)}…` : template);
}

/** A baseline as stored: `[mean, variance, last, seen]`. */
type StoredBaseline = [number, number, number, number];

/** A detector's learned state, plain and JSON-able (LogSignalDetector.snapshot / restore). */
export interface LogSignalSnapshot {
  version: 1;
  window: number;
  /** Least recently seen first (the eviction order). */
  templates: Array<[string, ...StoredBaseline]>;
  errors: StoredBaseline;
  activity: number;
  activityAtQuietStart: number;
  quietWindows: number;
  silenceReported: boolean;
}

const isNewTemplate = (t: WindowTemplate): boolean => t.isNew;

/** What `observe` returns when nothing fires (nearly always): one shared, frozen empty list. */
const NO_SIGNALS: readonly Signal[] = Object.freeze([]);

/** `into` with `found` added (a list made only when something is found; the detectors never give an empty one). */
function gather(
  into: Signal[] | undefined,
  found: readonly Signal[] | Signal | undefined,
): Signal[] | undefined {
  if (found === undefined) return into;
  const list = into ?? [];
  if (Array.isArray(found)) list.push(...(found as readonly Signal[]));
  else list.push(found as Signal);
  return list;
}

const stored = (b: Baseline): StoredBaseline => [b.mean, b.variance, b.last, b.seen];
const baselineOf = ([mean, variance, last, seen]: StoredBaseline): Baseline => ({
  mean,
  variance,
  last,
  seen,
});

/** Extra facts about a window that only the caller knows. */
export interface ObserveContext {
  /** The tailer kept up during this window (no poll left data unread): its counts are live, not backlog. */
  caughtUp?: boolean;
}

/** Signals for one stream; feed it every window, including empty ones. */
export class LogSignalDetector {
  readonly options: Readonly<Required<LogSignalOptions>>;
  private window = 0;
  private readonly templates = new Map<string, Baseline>();
  private errors = newBaseline(0);
  private activity = 0;
  private activityAtQuietStart = 0;
  private quietWindows = 0;
  private silenceReported = false;
  /** Restored from a snapshot and not yet seen a window in which the tailer kept up. */
  private settling = false;
  private settleWindows = 0;

  constructor(opts: LogSignalOptions = {}) {
    const o = { ...DEFAULT_LOG_SIGNAL_OPTIONS };
    for (const [k, v] of Object.entries(opts)) {
      if (v !== undefined && k in o) (o as unknown as Record<string, number>)[k] = v as number;
    }
    for (const [k, v] of Object.entries(o)) {
      if (!Number.isFinite(v) || v < 0) throw new RangeError(`options.${k} must be a non-negative number`);
    }
    if (!(o.alpha > 0 && o.alpha <= 1)) throw new RangeError('options.alpha must be in (0, 1]');
    this.options = o;
  }

  /** Whether the stream is still learning (no signals yet). */
  get warmingUp(): boolean {
    return this.window < this.options.warmupWindows;
  }

  /** Whether the detector was restored and still waits for a live (not backlog) window. */
  get isSettling(): boolean {
    return this.settling;
  }

  /** The learned state, to persist (restore it into a detector with the same options). */
  snapshot(): LogSignalSnapshot {
    return {
      version: 1,
      window: this.window,
      // Least recently seen first: a restore with a smaller cap keeps the most recent.
      templates: [...this.templates]
        .sort(([, a], [, b]) => a.last - b.last)
        .map(([id, b]) => [id, ...stored(b)]),
      errors: stored(this.errors),
      activity: this.activity,
      activityAtQuietStart: this.activityAtQuietStart,
      quietWindows: this.quietWindows,
      silenceReported: this.silenceReported,
    };
  }

  /** Continues from a snapshot; throws on a snapshot it cannot read. The detector then settles (see above). */
  restore(snap: LogSignalSnapshot): void {
    if (snap?.version !== 1 || !Number.isInteger(snap.window) || !Array.isArray(snap.templates))
      throw new Error(`unsupported log signal snapshot (version ${String(snap?.version)})`);
    this.window = snap.window;
    this.templates.clear();
    for (const [id, ...b] of snap.templates.slice(-this.options.maxTrackedTemplates))
      this.templates.set(id, baselineOf(b));
    this.errors = baselineOf(snap.errors);
    this.activity = snap.activity;
    this.activityAtQuietStart = snap.activityAtQuietStart;
    this.quietWindows = snap.quietWindows;
    this.silenceReported = snap.silenceReported;
    this.settling = true;
    this.settleWindows = 0;
  }

  observe(w: StreamWindow, ctx: ObserveContext = {}): readonly Signal[] {
    const o = this.options;
    if (this.settling) {
      // A tailer that never keeps up (a node always busier than its agent) ends the settling after as many
      // windows as a warm-up: never blinder than a fresh detector.
      this.settleWindows++;
      if (ctx.caughtUp === true || this.settleWindows > o.warmupWindows) this.settling = false;
      else return this.observeBacklog(w);
    }
    const index = this.window;
    const armed = index >= o.warmupWindows;
    // Runs for every stream at every window close, nearly always without a signal: no array until one fires,
    // and indexed loops (a for-of allocates an iterator until V8 optimizes it; see WindowAccumulator.addBatch).
    let signals: Signal[] | undefined;
    if (armed) {
      signals = gather(signals, this.newTemplates(w));
      signals = gather(signals, this.bursts(w, index));
      signals = gather(signals, this.errorJump(w, index));
    }
    signals = gather(signals, this.silence(w, armed));
    const templates = w.templates;
    for (let k = 0; k < templates.length; k++)
      this.learnTemplate(templates[k]!.id, templates[k]!.count, index);
    update(this.errors, w.errorLines, index, o.alpha);
    this.window++;
    return signals ?? NO_SIGNALS;
  }

  // A backlog window after a restore: its counts are hours or seconds of lines at once, so they neither meet the
  // baselines nor feed them, and the window does not count as one of the stream's windows. What it says without
  // a baseline still holds: a template never seen before is new.
  private observeBacklog(w: StreamWindow): readonly Signal[] {
    if (this.window < this.options.warmupWindows) return NO_SIGNALS;
    return this.newTemplates(w) ?? NO_SIGNALS;
  }

  private learnTemplate(id: string, count: number, index: number): void {
    let b = this.templates.get(id);
    if (b === undefined) {
      if (this.templates.size >= this.options.maxTrackedTemplates) this.evictLeastRecentlySeen();
      b = newBaseline(index);
      this.templates.set(id, b);
    }
    update(b, count, index, this.options.alpha);
  }

  /**
   * Drops the baseline seen longest ago (`last`; the earliest inserted among equals). A scan, only when a new
   * template meets a full map: keeping the Map in recency order instead meant a delete and a set per template
   * per window, and the deleted slots made V8 rebuild the table of every stream over and over.
   */
  private evictLeastRecentlySeen(): void {
    let oldest: string | undefined;
    let oldestLast = Number.POSITIVE_INFINITY;
    this.templates.forEach((b, id) => {
      if (b.last < oldestLast) {
        oldestLast = b.last;
        oldest = id;
      }
    });
    if (oldest !== undefined) this.templates.delete(oldest);
  }

  private newTemplates(w: StreamWindow): Signal[] | undefined {
    // (A predicate made once: an arrow function written here would be a new closure at every call.)
    if (!w.templates.some(isNewTemplate)) return undefined;
    const fresh = w.templates.filter(isNewTemplate);
    fresh.sort((a, b) => levelRank(b.level) - levelRank(a.level) || b.count - a.count);
    const shown = fresh.slice(0, this.options.maxNewTemplateSignals);
    const more = fresh.length - shown.length;
    return shown.map((t) => {
      const severity: Severity = t.level;
      const score = [0.3, 0.5, 0.7, 0.9][levelRank(t.level)]!;
      const tail = more > 0 ? `; ${more} more new templates in this window` : '';
      return this.signal(w, 'log.new_template', severity, score, t, {
        explanation: `new ${levelWord(t.level)}template in ${subjectName(w.subject)}: ${quote(t.template)} (${t.count} lines in ${seconds(w)})${tail}`,
        values: { count: t.count },
      });
    });
  }

  private bursts(w: StreamWindow, index: number): Signal[] | undefined {
    const o = this.options;
    let out: Signal[] | undefined;
    for (const t of w.templates) {
      if (t.isNew || t.count < o.burstMinCount) continue;
      const b = this.templates.get(t.id);
      if (!b || b.seen < o.burstMinHistory) continue;
      decay(b, index, o.alpha);
      const sd = Math.sqrt(b.variance);
      if (t.count < o.burstFactor * Math.max(b.mean, 1) || t.count <= b.mean + o.burstSigmas * sd) continue;
      const sigma = sd > 0 ? (t.count - b.mean) / sd : Number.POSITIVE_INFINITY;
      const severity: Severity = isErrorLevel(t.level) ? 'error' : 'warning';
      const score = Math.min(1, 0.5 + Math.log10(t.count / Math.max(b.mean, 1)) / 4);
      out ??= [];
      out.push(
        this.signal(w, 'log.template_burst', severity, score, t, {
          explanation: `template ${quote(t.template)} in ${subjectName(w.subject)} bursts to ${t.count} lines in ${seconds(w)} (baseline ${b.mean.toFixed(1)})`,
          values: { count: t.count, baseline: b.mean, sigma: Number.isFinite(sigma) ? sigma : 999 },
        }),
      );
    }
    return out;
  }

  private errorJump(w: StreamWindow, index: number): Signal | undefined {
    const o = this.options;
    const b = this.errors;
    if (w.errorLines < o.errorMinCount) return undefined;
    decay(b, index, o.alpha);
    const sd = Math.sqrt(b.variance);
    if (w.errorLines < o.errorFactor * Math.max(b.mean, 1) || w.errorLines <= b.mean + o.errorSigmas * sd) {
      return undefined;
    }
    const share = w.lines > 0 ? w.errorLines / w.lines : 0;
    return {
      kind: 'log.error_rate_jump',
      subject: w.subject,
      timeMs: w.endMs,
      severity: 'error',
      score: Math.min(1, 0.6 + Math.log10(w.errorLines / Math.max(b.mean, 1)) / 4),
      explanation: `error lines in ${subjectName(w.subject)} jump to ${w.errorLines} in ${seconds(w)} (${Math.round(share * 100)}% of lines; baseline ${b.mean.toFixed(1)})`,
      evidence: capEvidence({
        lines: w.errorExemplars,
        values: { errorLines: w.errorLines, lines: w.lines, baseline: b.mean },
      }),
      source: LOG_SIGNAL_SOURCE,
    };
  }

  // Silence: the probability of `silenceWindows` empty windows in a row for a stream active in a share p of
  // windows is (1-p)^n (1e-6 for p = 0.9, n = 6): rare enough to say the stream stopped. The activity share is
  // frozen at the start of the quiet run so the silence does not erode its own evidence.
  private silence(w: StreamWindow, armed: boolean): Signal | undefined {
    const o = this.options;
    const active = w.lines > 0 ? 1 : 0;
    if (active) {
      this.quietWindows = 0;
      this.silenceReported = false;
    } else {
      if (this.quietWindows === 0) this.activityAtQuietStart = this.activity;
      this.quietWindows++;
    }
    this.activity += o.alpha * (active - this.activity);
    if (!armed || active || this.silenceReported) return undefined;
    if (this.quietWindows < o.silenceWindows || this.activityAtQuietStart < o.silenceMinActivity)
      return undefined;
    this.silenceReported = true;
    const quietMs = this.quietWindows * (w.endMs - w.startMs);
    return {
      kind: 'log.silence',
      subject: w.subject,
      timeMs: w.endMs,
      severity: 'warning',
      score: Math.min(1, this.activityAtQuietStart),
      explanation: `${subjectName(w.subject)} stopped logging: no line for ${Math.round(quietMs / 1000)} s (it logged in ${Math.round(this.activityAtQuietStart * 100)}% of windows before)`,
      evidence: { values: { quietWindows: this.quietWindows, activity: this.activityAtQuietStart } },
      source: LOG_SIGNAL_SOURCE,
    };
  }

  private signal(
    w: StreamWindow,
    kind: string,
    severity: Severity,
    score: number,
    t: WindowTemplate,
    extra: { explanation: string; values: Record<string, number> },
  ): Signal {
    return {
      kind,
      subject: w.subject,
      timeMs: w.endMs,
      severity,
      score,
      explanation: extra.explanation,
      evidence: capEvidence({
        lines: t.exemplars,
        values: extra.values,
        attributes: { templateId: t.id, template: t.template },
      }),
      source: LOG_SIGNAL_SOURCE,
    };
  }
}

/**
 * The exemplar lines a log signal cites: its template's (new template, burst) or its window's error lines (error
 * jump). The log pipeline completes them from the mining worker, which keeps a window's exemplars (the window
 * summaries carry only each template's first line).
 */
export function citedExemplars(signal: Signal): { templateId: string } | 'errors' | undefined {
  if (signal.kind === 'log.error_rate_jump') return 'errors';
  const templateId = signal.evidence?.attributes?.['templateId'];
  if (signal.kind.startsWith('log.') && templateId !== undefined) return { templateId };
  return undefined;
}

/** Detectors for many streams, keyed by stream. */
export class LogSignals {
  private readonly detectors = new Map<string, LogSignalDetector>();
  private readonly options: LogSignalOptions;

  constructor(options: LogSignalOptions = {}) {
    this.options = options;
  }

  observe(stream: string, window: StreamWindow, ctx: ObserveContext = {}): readonly Signal[] {
    return this.detector(stream).observe(window, ctx);
  }

  /** The stream's learned state, or undefined for a stream never observed. */
  snapshot(stream: string): LogSignalSnapshot | undefined {
    return this.detectors.get(stream)?.snapshot();
  }

  /** Restores a stream's detector (before its first window); throws on a snapshot it cannot read. */
  restore(stream: string, snap: LogSignalSnapshot): void {
    const d = new LogSignalDetector(this.options);
    d.restore(snap);
    this.detectors.set(stream, d);
  }

  /** Streams with a detector. */
  keys(): IterableIterator<string> {
    return this.detectors.keys();
  }

  forget(stream: string): void {
    this.detectors.delete(stream);
  }

  private detector(stream: string): LogSignalDetector {
    let d = this.detectors.get(stream);
    if (!d) {
      d = new LogSignalDetector(this.options);
      this.detectors.set(stream, d);
    }
    return d;
  }

  get streams(): number {
    return this.detectors.size;
  }
}
