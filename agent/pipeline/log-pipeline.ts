// Container and host logs, end to end on the node: the tailer reads what is new, container lines are mined
// into templates in the worker pool (batches per stream), host auth and audit lines go through the security
// rules, and each window becomes per-stream template counts with a few exemplars plus log signals — never
// the raw stream. The tailer's checkpoint and the miners' new state are written in the same LMDB
// transaction as the batch that carries those lines' effect (`alsoWrite`), so a crash neither loses nor
// repeats a line, and template ids survive restarts.
import type { Database, RootDatabase } from 'lmdb';
import type { Logger } from '../../common/log.ts';
import { capEvidence, type Signal, type Subject } from '../../common/signal.ts';
import { subjectToWire } from '../../common/signal-wire.ts';
import type { TaskThread } from '../detect/detection-thread.ts';
import type { MinerSnapshot } from '../detect/logs/miner.ts';
import type { StreamLines, WantedExemplars } from '../detect/logs/mining-worker.ts';
import { LogMiningPool } from '../detect/logs/pool.ts';
import { citedExemplars, type LogSignalSnapshot, LogSignals } from '../detect/logs/signals.ts';
import { type StreamWindow, WindowAccumulator } from '../detect/logs/window.ts';
import type { SecurityLogDetector } from '../detect/security/log-detector.ts';
import type { PodMeta } from '../sources/kube/kube-watcher.ts';
import { type LineBatch, LineBatchCollector, segmentBytes } from '../sources/logs/line-batches.ts';
import { LogTailer } from '../sources/logs/tailer.ts';
import type { Checkpoint, CheckpointEntry, LogRecord, StreamKey } from '../sources/logs/types.ts';
import type { LogStreamWindow, TemplateSample } from '../summarize/stream-templates.ts';

/** Host log files that carry security events, by file name. */
const SECURITY_FILES: Record<string, 'auth' | 'audit'> = {
  'auth.log': 'auth',
  secure: 'auth',
  'audit.log': 'audit',
};

const HOST_GLOBS = [
  'var/log/syslog',
  'var/log/messages',
  'var/log/auth.log',
  'var/log/secure',
  'var/log/kern.log',
  'var/log/kube-apiserver/audit.log',
  'var/log/kubernetes/audit/audit.log',
];

/**
 * A stream unseen this long is forgotten (its pod is gone): its window state, signal baselines, miner (in the
 * worker) and saved miner state, so that an agent on a node where pods come and go does not keep a miner for
 * every container it ever saw, nor restore them all at each restart. A container quiet for longer starts with
 * a new miner (and a new warm-up) when it logs again.
 */
const FORGET_AFTER_MS = 60 * 60_000;

/**
 * A closing window reads what the files hold in at most this many polls of the tailer's budget (512 KiB),
 * 64 MiB (≈ 1.5 s of CPU at the whole chain's measured ~525 k lines/s of ~80-byte lines): files that trickle
 * are read only as windows close (at most 32 KiB each a window: 1,000 files written at 1 KiB/s hold
 * ≈ 10 MiB), and busy ones at every poll in between.
 */
const CLOSE_READ_POLLS = 128;

/** Log signal baselines are saved every this many windows (5 min at 10 s windows) and at stop. */
const SIGNAL_STATE_SAVE_WINDOWS = 30;
/** Saved baselines older than this are not used after a restart (the stream has likely changed). */
const SIGNAL_STATE_MAX_AGE_MS = 24 * 60 * 60_000;

interface StoredSignalState {
  savedAtMs: number;
  snapshot: LogSignalSnapshot;
}

export interface LogPipelineOptions {
  root: RootDatabase;
  hostRoot: string;
  node: string;
  logger: Logger;
  emit: (signal: Signal) => void;
  podMeta?: (uid: string) => PodMeta | undefined;
  /** Security detectors for host auth and Kubernetes audit logs (rules hot-reload inside them). */
  security?: { auth: SecurityLogDetector; audit: SecurityLogDetector };
  /** Windows each container stream only learns from before it may signal. */
  warmupWindows: number;
  miningThreads?: number;
  /** Mine on this thread (the agent's shared detection thread) instead of threads of the pipeline's own. */
  miningThread?: TaskThread;
  pollIntervalMs?: number;
}

export interface LogWindow {
  /** Per stream: every template counted, with its text, and exemplar candidates (the dictionary picks). */
  logs: LogStreamWindow[];
  /** Raw bytes of the lines this window accounts for. */
  rawBytes: number;
  /** Writes the checkpoint and miner state that go with this window's batch (call inside its transaction). */
  alsoWrite: () => void;
}

interface StreamState {
  subject: Subject;
  /** The subject as summaries carry it, made when the subject is (not at every window). */
  wireSubject: ReturnType<typeof subjectToWire>;
  window: WindowAccumulator;
  lastSeenMs: number;
  bytes: number;
  /** The miner's state changed in this window and must be persisted with the batch. */
  newTemplates: boolean;
  minerChanges: number;
}

/**
 * Every template the window counted, with its text, and each one's first line: the summary dictionary sends
 * only the texts the aggregator may lack and the exemplars that say something new (a template's first
 * definition, an error template now and then); signals carry their own evidence.
 */
function streamWindow(id: string, s: StreamState, w: StreamWindow): LogStreamWindow {
  // Arrays of their exact length: at a thousand streams these are made at every close and live until the batch
  // is packed, and an empty array that is pushed to reserves 17 slots (V8's growth step).
  const n = w.templates.length;
  const templates = new Array<{ id: string; text: string }>(n);
  const counts = new Array<{ templateId: string; count: number }>(n);
  let withLine = 0;
  for (let i = 0; i < n; i++) {
    const t = w.templates[i]!;
    templates[i] = { id: t.id, text: t.template };
    counts[i] = { templateId: t.id, count: t.count };
    if (t.exemplars.length > 0) withLine++;
  }
  const samples = new Array<TemplateSample>(withLine);
  let k = 0;
  for (let i = 0; i < n; i++) {
    const t = w.templates[i]!;
    const line = t.exemplars[0];
    if (line !== undefined) samples[k++] = { templateId: t.id, line, error: t.errorCount > 0 };
  }
  return {
    subject: s.wireSubject,
    stream: s.subject.kind === 'node' ? id.replace(/^host:/, '') : 'container',
    templates,
    counts,
    samples,
    lines: BigInt(w.lines),
    bytes: BigInt(s.bytes),
  };
}

export class LogPipeline {
  private readonly opts: LogPipelineOptions;
  private readonly tailer: LogTailer;
  private readonly pool: LogMiningPool;
  private readonly signals: LogSignals;
  private readonly checkpoints: Database<CheckpointEntry, string>;
  private readonly minerState: Database<MinerSnapshot, string>;
  private readonly signalState: Database<StoredSignalState, string>;
  /** Baselines restored at open, handed to a stream's detector when the stream shows up again. */
  private readonly restoredSignals = new Map<string, LogSignalSnapshot>();
  /** Streams whose miner was restored at open and that have not shown up since (forgotten like the others). */
  private readonly restoredMiners = new Set<string>();
  /** A poll of this window left data unread (the tailer was reading a backlog), or none completed yet. */
  private behind = false;
  private behindBefore = true;
  private pollsThisWindow = 0;
  private readonly openedMs = Date.now();
  private readonly streams = new Map<string, StreamState>();
  private changed: Checkpoint = {};
  private removed = new Set<string>();
  private windowStart = Date.now();
  /** Numbers the window being filled; the mining worker caps exemplars per window. */
  private windowSeq = 0;
  private rawBytes = 0;
  /** Poll iterations and window closes run one at a time, in order. */
  private chain: Promise<unknown> = Promise.resolve();
  private timer: NodeJS.Timeout | undefined;
  private running = false;
  private readonly inflight = new Set<Promise<void>>();
  /** Plain container lines of each poll as bytes: no string or record per line on this thread. */
  private readonly lineBatches = new LineBatchCollector();
  private readonly recycle = (bytes: Uint8Array, ends: Int32Array) => this.lineBatches.recycle(bytes, ends);

  private constructor(opts: LogPipelineOptions) {
    this.opts = opts;
    this.checkpoints = opts.root.openDB<CheckpointEntry, string>({
      name: 'log-checkpoints',
      encoding: 'msgpack',
    });
    this.minerState = opts.root.openDB<MinerSnapshot, string>({ name: 'log-miners', encoding: 'msgpack' });
    this.signalState = opts.root.openDB<StoredSignalState, string>({
      name: 'log-signals',
      encoding: 'msgpack',
    });
    this.tailer = new LogTailer({
      hostRoot: opts.hostRoot,
      hostGlobs: HOST_GLOBS,
      logger: opts.logger,
      lineBatches: this.lineBatches,
    });
    this.pool = new LogMiningPool({
      threads: opts.miningThreads ?? 1,
      ...(opts.miningThread ? { thread: opts.miningThread } : {}),
    });
    this.signals = new LogSignals({ warmupWindows: opts.warmupWindows });
  }

  /** Restores offsets and miner state committed with the last batch, before reading anything. */
  static async open(opts: LogPipelineOptions): Promise<LogPipeline> {
    const p = new LogPipeline(opts);
    const checkpoint: Record<string, unknown> = {};
    for (const { key, value } of p.checkpoints.getRange({})) checkpoint[key] = value;
    const unreadable = p.tailer.restore(checkpoint);
    for (const key of unreadable) await p.checkpoints.remove(key);
    let restored = 0;
    for (const { key, value } of p.minerState.getRange({})) {
      try {
        await p.pool.restore(key, value);
      } catch (error) {
        // Another version's or a damaged record must not stop the agent at every start: the stream learns anew.
        opts.logger.warn(
          { err: error, stream: key },
          'saved templates of a stream unreadable; it learns anew (its template ids may change)',
        );
        await p.minerState.remove(key);
        continue;
      }
      p.restoredMiners.add(key);
      restored++;
    }
    await p.pool.ready();
    let baselines = 0;
    for (const { key, value } of p.signalState.getRange({})) {
      if (Date.now() - (value?.savedAtMs ?? 0) > SIGNAL_STATE_MAX_AGE_MS) {
        await p.signalState.remove(key);
        continue;
      }
      p.restoredSignals.set(key, value.snapshot);
      baselines++;
    }
    opts.logger.info(
      {
        files: Object.keys(checkpoint).length - unreadable.length,
        unreadableCheckpoints: unreadable.length,
        miners: restored,
        signalBaselines: baselines,
      },
      'log pipeline restored its state',
    );
    return p;
  }

  start(): void {
    this.running = true;
    this.schedule(0);
  }

  private schedule(delayMs: number): void {
    if (!this.running) return;
    this.timer = setTimeout(() => {
      this.chain = this.chain
        .then(() => this.pollOnce())
        .then(
          (more) => this.schedule(more ? 0 : (this.opts.pollIntervalMs ?? 250)),
          (error: unknown) => {
            this.opts.logger.error({ err: error }, 'log poll failed; retrying');
            this.schedule(1000);
          },
        );
    }, delayMs);
  }

  /**
   * Reads what is new (`all`: whatever the files' read delays) and mines it; true when more is waiting (a
   * regular poll then marks the window as behind: it was reading a backlog).
   */
  private async pollOnce(all = false): Promise<boolean> {
    const r = await (all ? this.tailer.pollAll() : this.tailer.poll());
    if (r.more && !all) this.behind = true;
    this.pollsThisWindow++;
    const lineBatch = this.lineBatches.take();
    Object.assign(this.changed, r.changed);
    for (const k of r.removed) {
      this.removed.add(k);
      delete this.changed[k];
    }
    if (r.records.length > 0 || lineBatch !== undefined) {
      // Mining runs in the worker while the next poll reads: up to two batches in flight. A stream's batches
      // are mined in order (the pool chains them), and a window closes only after all of them are counted.
      const job = this.process(r.records, lineBatch).finally(() => this.inflight.delete(job));
      this.inflight.add(job);
      if (this.inflight.size >= 2) await Promise.race(this.inflight);
    }
    return r.more;
  }

  private async process(records: LogRecord[], lineBatch: LineBatch | undefined): Promise<void> {
    const window = this.windowSeq;
    // Per stream of this poll, in parallel arrays: the batch exactly as the worker gets it (nothing else is
    // cloned), its key and its raw bytes. One object per stream, not three: at a window close a thousand of them
    // live across the worker's round trip, while the next poll reads.
    const at = new Map<string, number>();
    const mining: StreamLines[] = [];
    const keys: StreamKey[] = [];
    const rawBytes: number[] = [];
    const indexOf = (key: StreamKey): number => {
      let i = at.get(key.id);
      if (i === undefined) {
        i = mining.length;
        at.set(key.id, i);
        mining.push({ stream: key.id });
        keys.push(key);
        rawBytes.push(0);
      }
      return i;
    };
    // The byte lines (transferred to the worker) are counted before the records' lines of the same poll.
    for (const seg of lineBatch?.segments ?? []) {
      const i = indexOf(seg.stream);
      const batch = mining[i]!;
      // Most streams have one run a poll: a literal holds just it (a push to [] would reserve 17 slots).
      if (batch.segments === undefined) batch.segments = [seg.from, seg.to];
      else batch.segments.push(seg.from, seg.to);
      const bytes = segmentBytes(lineBatch!.ends, seg.from, seg.to);
      rawBytes[i]! += bytes;
      this.rawBytes += bytes;
    }
    for (const rec of records) {
      const bytes = rec.text.length + 1;
      this.rawBytes += bytes;
      const key = rec.stream;
      const securityKind = key.kind === 'host' ? SECURITY_FILES[key.name] : undefined;
      if (securityKind !== undefined) {
        const detector = this.opts.security?.[securityKind];
        if (detector) for (const s of detector.processLine(rec.text)) this.opts.emit(s);
        continue;
      }
      const i = indexOf(key);
      const batch = mining[i]!;
      if (batch.lines === undefined) batch.lines = [rec.text];
      else batch.lines.push(rec.text);
      rawBytes[i]! += bytes;
    }
    if (mining.length === 0) return;
    const now = Date.now();
    // The worker mines every stream's batch of this poll in one message and answers with what the windows need
    // (per template, not per line).
    await this.pool.summarizeEach(mining, window, lineBatch, this.recycle, (summary, i) => {
      const state = this.stream(mining[i]!.stream, keys[i]!);
      state.window.addBatch(summary);
      // Any change of the miner's state (a new template, one that generalised, a merge) must be persisted.
      if (summary.changes !== state.minerChanges) {
        state.minerChanges = summary.changes;
        state.newTemplates = true;
      }
      state.bytes += rawBytes[i]!;
      state.lastSeenMs = now;
    });
  }

  private containerSubject(key: Extract<LogRecord['stream'], { kind: 'container' }>): Subject {
    const subject: Subject = {
      kind: 'container',
      node: this.opts.node,
      namespace: key.namespace,
      pod: key.pod,
      container: key.container,
    };
    const workload = this.opts.podMeta?.(key.podUid)?.workload;
    if (workload) subject.workload = workload;
    return subject;
  }

  private hostSubject(): Subject {
    return { kind: 'node', node: this.opts.node };
  }

  /** The stream's state (its subject is built once: this runs for every stream of every poll). */
  private stream(id: string, key: StreamKey): StreamState {
    const known = this.streams.get(id);
    if (known !== undefined) {
      // The pod's workload may become known after its first lines (pod metadata comes from the API's watch).
      if (key.kind === 'container' && known.subject.workload === undefined) {
        const workload = this.opts.podMeta?.(key.podUid)?.workload;
        if (workload) this.setSubject(known, { ...known.subject, workload });
      }
      return known;
    }
    const subject = key.kind === 'container' ? this.containerSubject(key) : this.hostSubject();
    const s: StreamState = {
      subject,
      wireSubject: subjectToWire(subject),
      window: new WindowAccumulator(subject, this.windowStart),
      lastSeenMs: Date.now(),
      bytes: 0,
      newTemplates: false,
      minerChanges: -1,
    };
    this.streams.set(id, s);
    this.restoredMiners.delete(id);
    this.restoreSignals(id);
    return s;
  }

  private setSubject(s: StreamState, subject: Subject): void {
    s.subject = subject;
    s.wireSubject = subjectToWire(subject);
    s.window.subject = subject;
  }

  /** A stream seen again after a restart continues from its saved baselines (a damaged record is skipped). */
  private restoreSignals(id: string): void {
    const snapshot = this.restoredSignals.get(id);
    if (snapshot === undefined) return;
    this.restoredSignals.delete(id);
    try {
      this.signals.restore(id, snapshot);
    } catch (error) {
      this.opts.logger.warn(
        { err: error, stream: id },
        'saved log signal baselines unreadable; learning anew',
      );
    }
  }

  /** Ends the window: per-stream summaries, log signals (emitted), and the state to commit with the batch. */
  closeWindow(endMs = Date.now()): Promise<LogWindow> {
    // First everything written before the end: trickling files are read only here (parked) or every few
    // seconds otherwise.
    const run = this.chain.then(async () => {
      if (this.running) await this.readAll();
      return this.close(endMs);
    });
    this.chain = run.catch(() => {});
    return run;
  }

  /** Everything the files hold, within CLOSE_READ_POLLS budgets; more than that is a backlog (behind). */
  private async readAll(): Promise<void> {
    for (let i = 0; i < CLOSE_READ_POLLS; i++) if (!(await this.pollOnce(true))) return;
    this.behind = true;
  }

  private async close(endMs: number): Promise<LogWindow> {
    await Promise.all(this.inflight);
    // Live counts: the window before ended with everything read (it polled, and no poll left data unread),
    // and so did this one: the window holds only lines written during it. Restored signal detectors settle
    // until then (signals.ts).
    const behind = this.behind || this.pollsThisWindow === 0;
    const caughtUp = !behind && !this.behindBefore;
    this.behindBefore = behind;
    this.behind = false;
    this.pollsThisWindow = 0;
    const forgotten: string[] = [];
    if (endMs - this.openedMs > FORGET_AFTER_MS) {
      this.restoredSignals.clear();
      for (const id of this.restoredMiners) forgotten.push(id);
      this.restoredMiners.clear();
    }
    const logs: LogStreamWindow[] = [];
    const snapshots: Array<[string, MinerSnapshot]> = [];
    const fired: Array<{ stream: string; signal: Signal }> = [];
    const changedMiners: string[] = [];
    const observed = { caughtUp };
    this.streams.forEach((s, id) => {
      if (endMs - s.lastSeenMs > FORGET_AFTER_MS) {
        this.streams.delete(id);
        this.signals.forget(id);
        forgotten.push(id);
        return;
      }
      const w = s.window.close(endMs);
      const signals = this.signals.observe(id, w, observed);
      for (let k = 0; k < signals.length; k++) fired.push({ stream: id, signal: signals[k]! });
      if (s.newTemplates) changedMiners.push(id);
      if (w.lines > 0) logs.push(streamWindow(id, s, w));
      s.window.next(endMs);
      s.bytes = 0;
      s.newTemplates = false;
    });
    for (const id of changedMiners) {
      const snap = await this.pool.snapshot(id);
      if (snap) snapshots.push([id, snap]);
    }
    await Promise.all(forgotten.map((id) => this.pool.drop(id)));
    await this.citeExemplars(fired);
    for (const { signal } of fired) this.opts.emit(signal);
    const signalSnapshots =
      this.windowSeq % SIGNAL_STATE_SAVE_WINDOWS === SIGNAL_STATE_SAVE_WINDOWS - 1
        ? this.liveSignalSnapshots()
        : [];
    const changed = this.changed;
    const removed = [...this.removed];
    this.changed = {};
    this.removed = new Set();
    const rawBytes = this.rawBytes;
    this.rawBytes = 0;
    this.windowStart = endMs;
    this.windowSeq++;
    return {
      logs,
      rawBytes,
      alsoWrite: () => {
        // for-in: Object.entries would make a [key, entry] pair per file at every window.
        for (const k in changed) this.checkpoints.put(k, changed[k]!);
        for (const k of removed) this.checkpoints.remove(k);
        for (const [k, snap] of snapshots) this.minerState.put(k, snap);
        for (const [k, snapshot] of signalSnapshots) this.signalState.put(k, { savedAtMs: endMs, snapshot });
        for (const k of forgotten) {
          this.signalState.remove(k);
          this.minerState.remove(k);
        }
      },
    };
  }

  /**
   * Gives the window's signals the exemplar lines they cite (up to EVIDENCE_MAX_LINES), which the mining worker
   * kept: the summaries brought only each template's first line. One round trip per close that has signals; the
   * window's successor has sent nothing yet (closes and polls run one at a time).
   */
  private async citeExemplars(fired: ReadonlyArray<{ stream: string; signal: Signal }>): Promise<void> {
    const wanted = new Map<string, WantedExemplars>();
    const cites = fired.map(({ stream, signal }) => {
      const cited = citedExemplars(signal);
      if (cited === undefined) return undefined;
      let w = wanted.get(stream);
      if (w === undefined) {
        w = { stream, templates: [], errors: false };
        wanted.set(stream, w);
      }
      if (cited === 'errors') w.errors = true;
      else if (!w.templates.includes(cited.templateId)) w.templates.push(cited.templateId);
      return cited;
    });
    if (wanted.size === 0) return;
    const asked = [...wanted.values()];
    const answers = await this.pool.exemplars(asked, this.windowSeq);
    const byStream = new Map(asked.map((w, i) => [w.stream, { w, answer: answers[i]! }]));
    fired.forEach(({ stream, signal }, i) => {
      const cited = cites[i];
      const found = byStream.get(stream);
      if (cited === undefined || found === undefined) return;
      const lines =
        cited === 'errors'
          ? found.answer.errors
          : found.answer.templates[found.w.templates.indexOf(cited.templateId)];
      if (lines !== undefined && lines.length > (signal.evidence?.lines?.length ?? 0))
        signal.evidence = capEvidence({ ...signal.evidence, lines });
    });
  }

  /** The signal baselines of every stream still tracked. */
  private liveSignalSnapshots(): Array<[string, LogSignalSnapshot]> {
    const all: Array<[string, LogSignalSnapshot]> = [];
    for (const id of this.streams.keys()) {
      const snapshot = this.signals.snapshot(id);
      if (snapshot) all.push([id, snapshot]);
    }
    return all;
  }

  /** Every live stream's signal baselines, in one transaction (at stop; windows save them every few minutes). */
  private async saveSignalState(): Promise<void> {
    const now = Date.now();
    const all = this.liveSignalSnapshots();
    if (all.length === 0) return;
    try {
      await this.opts.root.transaction(() => {
        for (const [k, snapshot] of all) this.signalState.put(k, { savedAtMs: now, snapshot });
      });
    } catch (error) {
      this.opts.logger.warn({ err: error }, 'log signal baselines not saved at stop');
    }
  }

  /** CPU seconds each mining thread has used so far (for benchmarks). */
  miningCpuSeconds(): Promise<number[]> {
    return this.pool.cpuSeconds();
  }

  stats() {
    return { ...this.tailer.stats(), streams: this.streams.size };
  }

  async stop(): Promise<void> {
    this.running = false;
    clearTimeout(this.timer);
    await this.chain.catch(() => {});
    await Promise.allSettled(this.inflight);
    await this.saveSignalState();
    await this.tailer.close();
    await this.pool.close();
  }
}
