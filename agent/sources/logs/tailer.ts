import { closeSync, fstatSync, openSync, type Stats, statSync } from 'node:fs';
import { dirname } from 'node:path';
import type { Logger } from '../../../common/log.ts';
import { DirectoryWatcher, fsWatchBackend, type WatchBackend } from './change-watch.ts';
import { checkpointProblem } from './checkpoint-entry.ts';
import { newCounters, type TailCounters } from './counters.ts';
import { type DiscoveredFile, LogDiscovery } from './discovery.ts';
import { fingerprintLength, fingerprintString, readLeadingBytes } from './fingerprint.ts';
import type { TrustedDirectory } from './glob.ts';
import type { LineBatchCollector } from './line-batches.ts';
import type { ParseContext } from './line-parser.ts';
import { fileKey, findCopy, locateByInode } from './locate.ts';
import { parseTailerOptions, type TailerOptions, type TailerOptionsInput } from './options.ts';
import { type ReadIo, readBufferBytes, TRUNCATED, TrackedFile } from './reader.ts';
import type { Checkpoint, CheckpointEntry, LogRecord } from './types.ts';

// The log source's public face. The agent calls `poll()` in a loop; each call lists the tree when due,
// reads what is new from every file in round-robin turns, and returns the records together with the
// checkpoint entries that changed, as of exactly their end. What is "new" comes from inotify watches on the
// listed directories (change-watch.ts) with a slow stat sweep as the safety net, or from polling.
// Persisting that checkpoint in the same LMDB transaction as the batch carrying the records' effect, and
// `restore()`-ing it after a crash, gives "no line lost, none repeated". See docs/log-tailing.md.

export interface PollResult {
  records: LogRecord[];
  /**
   * Entries that changed since the previous poll, and keys that disappeared (for per-key stores). Relative
   * to the previous poll: when several polls go into one batch, merge theirs (later wins).
   */
  changed: Checkpoint;
  removed: string[];
  /** True when the byte budget ran out with data left: poll again without waiting. */
  more: boolean;
}

export interface TailerStats extends TailCounters {
  filesTracked: number;
  filesLive: number;
  filesRotated: number;
  filesOpen: number;
  /** Directories with a live inotify watch (0 in `poll` mode). */
  dirsWatched: number;
}

export interface LogTailerOptions extends TailerOptionsInput {
  logger?: Logger;
  /** Injected clock (tests); defaults to Date.now. */
  now?: () => number;
  /** Injected directory watch (tests: a watch that loses events); defaults to `fs.watch`. */
  watchBackend?: WatchBackend;
  /**
   * Plain single-piece CRI lines go here as bytes instead of into `records` (the log pipeline's fast lane to
   * its mining worker); take them after each `poll()`: they belong to that poll's checkpoint.
   */
  lineBatches?: LineBatchCollector;
}

/** A poll that gives fewer bytes than this leaves a file quiet (see BUSY_BYTES_PER_SECOND). */
const BUSY_POLL_BYTES = 4 * 1024;

/** A file written faster than this (4 KiB per 250 ms poll) is busy: read at every poll. */
const BUSY_BYTES_PER_SECOND = 16 * 1024;

/** Done entries are checked for existence this often (they only prevent re-reading a rediscovered inode). */
const PRUNE_INTERVAL_MS = 10_000;

/** Event-driven listings run at most this often (a burst of creations and renames costs one listing). */
const EVENT_DISCOVERY_GAP_MS = 200;

/**
 * Files wait for the next `pollAll` only when its runs come at least this often (the agent's 10 s windows do);
 * with longer windows a trickling file keeps its own schedule: read every idleReadDelayMs and at each run.
 */
const MAX_PARK_GAP_MS = 60_000;

/**
 * A file that would give more than this between two `pollAll` runs keeps its own schedule: at 1,000 parked
 * files a run reads at most 32 MiB (the log pipeline's close reads up to 64 MiB before it calls it a backlog).
 */
const PARK_MAX_BYTES = 32 * 1024;

/** A directory switched to polling goes back to a watch after its files gave no data this long (at least). */
const POLLED_QUIET_MS = 5000;

/**
 * Host logs (syslog, auth.log, kern.log) are read at least this often: they are few, and carry what is wanted
 * at once (the security detectors act as lines are read; OOM kills).
 */
const HOST_READ_DELAY_MS = 1000;

/** A directory switched to polling (its watch fired often). */
interface PolledDir {
  /** When a file there last gave data. */
  lastDataMs: number;
  /** When its listing was last checked (a stat). */
  checkedMs: number;
  /** Scratch of polledListingsHold: its files' shortest read delay (-1: no file). */
  every: number;
}

/**
 * `sweep`: everything, stat-gated. `changed`: dirty directories listed again, clean watched ones trusted.
 * `polled`: only the directories switched to polling are due (a listing runs if one of them changed).
 */
type DiscoveryKind = 'sweep' | 'changed' | 'polled';

export class LogTailer {
  private readonly opts: TailerOptions;
  private readonly logger: Logger | null;
  private readonly now: () => number;
  private readonly discovery: LogDiscovery;
  private readonly counters = newCounters();
  private readonly ctx: ParseContext;
  private readonly io: ReadIo;
  private readonly files = new Map<string, TrackedFile>();
  /** Discovered path → key of the file we last saw there. */
  private readonly byPath = new Map<string, string>();
  /** Open descriptors in least-recently-used order (Map keeps insertion order). */
  private readonly open = new Map<string, TrackedFile>();
  private readonly evicted = new Set<string>();
  /** Live files in watched directories at their end: not read until an event or the sweep wakes them. */
  private sleeping = new Set<TrackedFile>();
  /** Files the last sweep woke without an event (new bytes there were missed by the watch). */
  private swept = new Set<TrackedFile>();
  /** Directories switched to polling. null in `poll` mode. */
  private readonly polledDirs: Map<string, PolledDir> | null;
  /** null in `poll` mode. */
  private readonly watcher: DirectoryWatcher | null;
  /** Descriptors files may use: the inotify instance holds one of maxOpenFiles. */
  private readonly fileCap: number;
  private restored = new Map<string, CheckpointEntry>();
  private hadCheckpoint = false;
  private lastDiscoveryMs = Number.NEGATIVE_INFINITY;
  private lastSweepMs = Number.NEGATIVE_INFINITY;
  private lastPolledMs = Number.NEGATIVE_INFINITY;
  private lastPruneMs = 0;
  private discoveries = 0;
  private cursor = 0;
  private order: TrackedFile[] = [];
  /** Set by `readPass` when a file gave bytes or was found truncated. */
  private progressed = false;
  private orderDirty = true;
  /** Files were added or removed since the last snapshot: rebuild it whole. */
  private fullSnapshot = true;
  /** Files whose checkpoint entry may differ from the last snapshot (read, truncated, moved). */
  private readonly moved = new Set<TrackedFile>();
  private lastCheckpoint = new Map<string, CheckpointEntry>();
  private polling = false;
  /** This poll reads every file whatever its delay (`pollAll`). */
  private readingAll = false;
  /** This poll checks every polled directory: the first call of a `pollAll` run (its continuations do not). */
  private checkingAllDirs = false;
  /**
   * Numbers a run of `pollAll` calls (one that ran out of budget is continued by the next): a file it read to
   * its end is not read ahead of its turn again in the same run.
   */
  private allRound = 0;
  private allContinues = false;
  /** When the current run of `pollAll` calls started, and the gap between the last two runs' starts. */
  private allStartedMs = Number.NEGATIVE_INFINITY;
  private allGapMs = 0;
  /** Polled directories of parked files that a `pollAll` run found without new data (checkStoppedDirs). */
  private readonly stoppedDirs = new Set<string>();
  private closed = false;

  constructor(options: LogTailerOptions) {
    const { logger, now, watchBackend, lineBatches, ...rest } = options;
    this.opts = parseTailerOptions(rest);
    this.logger = logger ?? null;
    this.now = now ?? Date.now;
    this.discovery = new LogDiscovery(this.opts);
    this.watcher =
      this.opts.changeDetection === 'watch'
        ? new DirectoryWatcher(
            watchBackend ?? fsWatchBackend,
            (path) => this.fileEvent(path),
            this.counters,
            this.logger,
          )
        : null;
    this.polledDirs = this.watcher === null ? null : new Map();
    this.fileCap = this.watcher === null ? this.opts.maxOpenFiles : Math.max(1, this.opts.maxOpenFiles - 1);
    this.ctx = { maxLineBytes: this.opts.maxLineBytes, counters: this.counters, nowMs: this.now() };
    if (lineBatches !== undefined) this.ctx.lineBatches = lineBatches;
    // A physical line holds a message plus its CRI header or docker JSON (escapes can double it).
    const physicalCap = this.opts.maxLineBytes * 2 + 4096;
    this.io = {
      chunk: Buffer.allocUnsafe(readBufferBytes(this.opts.readChunkBytes, physicalCap)),
      fpScratch: Buffer.allocUnsafe(this.opts.fingerprintBytes),
      ctx: this.ctx,
      physicalCap,
      fingerprintBytes: this.opts.fingerprintBytes,
      pollId: 0,
    };
  }

  /**
   * Before the first poll: resume from these offsets (the last checkpoint committed with its batch). Entries
   * that cannot be resumed from are dropped with a warning (their files are read from the start) and their
   * keys returned, so the caller can remove them from its store.
   */
  restore(checkpoint: Record<string, unknown>): string[] {
    if (this.discoveries > 0) throw new Error('LogTailer.restore() must be called before the first poll()');
    const dropped: string[] = [];
    this.restored = new Map();
    for (const [key, entry] of Object.entries(checkpoint)) {
      const problem = checkpointProblem(key, entry);
      if (problem === undefined) {
        this.restored.set(key, entry as CheckpointEntry);
        continue;
      }
      dropped.push(key);
      this.logger?.warn(
        { checkpoint: key.slice(0, 80), problem },
        'log checkpoint unreadable: its file is read from its start (lines may repeat, none is lost)',
      );
    }
    // Even if every entry was dropped, this is a restart: `startAt: end` must not skip what was written meanwhile.
    this.hadCheckpoint = Object.keys(checkpoint).length > 0;
    return dropped;
  }

  /**
   * Every tracked file's entry as of the end of the last poll: what the polls' `changed` and `removed`, applied
   * in order, add up to (for tools and tests; the pipeline stores those instead).
   */
  checkpoint(): Checkpoint {
    return Object.fromEntries(this.lastCheckpoint);
  }

  async poll(maxBytes: number = this.opts.pollMaxBytes): Promise<PollResult> {
    return this.pollWith(maxBytes, false);
  }

  /**
   * A poll that also reads the files their read delay would skip and checks every polled directory, so
   * that what was written before the call is read (budget permitting: see `more`). The log pipeline calls it
   * as a window closes: a window counts the lines written before its end, however long the read delays.
   */
  async pollAll(maxBytes: number = this.opts.pollMaxBytes): Promise<PollResult> {
    return this.pollWith(maxBytes, true);
  }

  private pollWith(maxBytes: number, all: boolean): PollResult {
    if (this.closed) throw new Error('LogTailer is closed');
    if (this.polling) throw new Error('LogTailer.poll() is already running');
    this.polling = true;
    this.readingAll = all;
    this.checkingAllDirs = all && !this.allContinues;
    if (this.checkingAllDirs) {
      this.allRound++;
      const now = this.now();
      this.allGapMs = now - this.allStartedMs;
      this.allStartedMs = now;
    }
    try {
      const result = this.pollNow(maxBytes);
      this.allContinues = all && result.more;
      return result;
    } finally {
      this.polling = false;
      this.readingAll = false;
      this.checkingAllDirs = false;
    }
  }

  stats(): TailerStats {
    let live = 0;
    let rotated = 0;
    for (const f of this.files.values()) {
      if (f.state === 'live') live++;
      else if (f.state === 'rotated') rotated++;
    }
    return {
      ...this.counters,
      filesTracked: this.files.size,
      filesLive: live,
      filesRotated: rotated,
      filesOpen: this.open.size,
      dirsWatched: this.watcher?.size ?? 0,
    };
  }

  async close(): Promise<void> {
    this.closed = true;
    this.watcher?.close();
    for (const f of this.open.values()) f.closeFd();
    this.open.clear();
  }

  private pollNow(maxBytes: number): PollResult {
    const now = this.now();
    this.ctx.nowMs = now;
    this.io.pollId++;
    let discovery = this.discoveryDue(now);
    if (this.checkingAllDirs && discovery === null)
      discovery = this.watcher === null ? 'sweep' : this.watcher.needsPolling() ? 'polled' : null;
    if (discovery !== null) {
      this.lastDiscoveryMs = now;
      if (discovery === 'polled' && this.polledListingsHold(now)) this.counters.listingsSkipped++;
      else this.refresh(now, discovery);
    }
    // A run of pollAll reads what was written before it: also what a watch has not reported yet (its event
    // still on the way), found by an fstat of each sleeping file (~3 µs each).
    if (this.checkingAllDirs && this.watcher !== null) this.sweepSleeping(false);
    if (now - this.lastPruneMs >= PRUNE_INTERVAL_MS) {
      this.lastPruneMs = now;
      this.pruneDone();
    }
    const out: LogRecord[] = [];
    let more = this.readRound(maxBytes, out, now);
    if (!more && this.stoppedDirs.size > 0) more = this.checkStoppedDirs(maxBytes, out, now);
    return this.snapshot(out, now, more);
  }

  /** Round-robin turns of one chunk per file until the budget is spent or every file is at EOF. */
  private readRound(maxBytes: number, out: LogRecord[], now: number): boolean {
    if (this.orderDirty) {
      this.order = [...this.files.values()].filter((f) => f.state !== 'done');
      this.orderDirty = false;
      this.cursor = 0;
    }
    const order = this.order;
    let budget = maxBytes;
    // One pass per method call, not a loop nested in this one: V8 compiles a hot inner loop on the stack (OSR)
    // and throws that code away each time the loop is left for the outer one, which with a thousand files
    // meant recompiling this function every few seconds (`--trace-deopt`: "exit from OSR'd inner loop").
    do {
      this.progressed = false;
      budget = this.readPass(order, budget, out, now);
    } while (this.progressed && budget > 0 && order.length > 0);
    return budget <= 0;
  }

  /** One turn for every file that is due, in order from the cursor; returns the budget left. */
  private readPass(order: TrackedFile[], budget: number, out: LogRecord[], now: number): number {
    const pollId = this.io.pollId;
    for (let i = 0; i < order.length && budget > 0; i++) {
      const idx = (this.cursor + i) % order.length;
      const f = order[idx] as TrackedFile;
      if (f.state === 'done' || f.eofPoll === pollId || this.sleeping.has(f)) continue;
      if (f.nextReadMs > now && (!this.readingAll || f.allRound === this.allRound)) continue;
      if (f.fd < 0 && !(f.wantsOpen && this.openFile(f))) continue;
      let got: number;
      try {
        got = f.readTurn(this.io, out);
      } catch (err) {
        this.readFailed(f, err);
        continue;
      }
      if (got === TRUNCATED) {
        this.truncated(f, out);
        this.moved.add(f);
        this.progressed = true;
      } else if (got > 0) {
        f.lastReadEmpty = false;
        this.moved.add(f);
        budget -= got;
        this.progressed = true;
        this.touch(f);
        if (f.pollBytesId !== pollId) {
          f.pollBytesId = pollId;
          f.pollBytes = 0;
          if (this.swept.delete(f)) this.counters.missedChanges++;
          if (this.polledDirs !== null) this.noteData(f, now);
        }
        f.pollBytes += got;
        if (budget <= 0) this.cursor = (idx + 1) % order.length;
        if (f.eofPoll === pollId) this.schedule(f, pollId, now);
        // More than a chunk was waiting: read it at every poll until it reaches its end, whatever its delay.
        else f.nextReadMs = 0;
      } else {
        f.eofPoll = pollId;
        if (f.pollBytesId !== pollId) this.readEmpty(f);
        this.schedule(f, pollId, now);
        this.atEof(f, out, now);
      }
    }
    return budget;
  }

  /**
   * When a file that reached its end is read next. A live file in a watched directory *sleeps* until an
   * event (or the sweep) wakes it. Then, as for polled files, adaptive polling: a busy file (≥ 4 KiB in this
   * poll, written faster than 16 KiB/s since its previous read) is read at every poll; any other live file
   * again only after a delay that doubles from 100 ms with each such read up to idleReadDelayMs, so many
   * quiet files cost little, reads of a trickling file are batched, and a file that wakes up after a quiet
   * spell is read at once. (By bytes alone, a trickling file read every 5 s would count as busy and restart
   * at 100 ms.) Rotated (draining) files are read every poll.
   * When `pollAll` runs regularly (the log pipeline's window closes), a container file that is not busy waits
   * for the next run (`parkMs`): its lines are counted in the same window either way, and with a thousand
   * trickling files the reads in between were two thirds of the reads.
   */
  private schedule(f: TrackedFile, pollId: number, now: number): void {
    this.swept.delete(f);
    if (f.state === 'live' && this.wakesOnEvents(f)) this.sleeping.add(f);
    if (this.readingAll) f.allRound = this.allRound;
    const sinceMs = f.lastEofMs < 0 ? -1 : now - f.lastEofMs;
    f.lastEofMs = now;
    const bytes = f.pollBytesId === pollId ? f.pollBytes : 0;
    // Bytes per second since its previous read (a first read that found a lot counts as busy).
    const rate =
      sinceMs > 0 ? (bytes * 1000) / sinceMs : bytes >= BUSY_POLL_BYTES ? Number.POSITIVE_INFINITY : 0;
    // Parked only by a run of pollAll; a file a regular poll reads (woken, or flooding) keeps its own schedule.
    const parkMs = this.readingAll ? this.parkMs(f, rate) : 0;
    f.parked = parkMs > 0 && f.state === 'live';
    // Read ahead of its turn by `pollAll` while runs are not regular: it keeps its own schedule. Rescheduling
    // every file from the same moment would make them all due in the same poll later (one poll over its
    // budget: a false backlog). Parked, they are all read by the next run instead.
    if (f.nextReadMs > now && parkMs === 0) return;
    if (f.state !== 'live' || (bytes >= BUSY_POLL_BYTES && rate >= BUSY_BYTES_PER_SECOND)) {
      f.quietPolls = 0;
      f.nextReadMs = 0;
      f.readDelayMs = 0;
      return;
    }
    f.quietPolls = Math.min(f.quietPolls + 1, 16);
    const cap =
      f.stream.kind === 'host'
        ? Math.min(HOST_READ_DELAY_MS, this.opts.idleReadDelayMs)
        : this.opts.idleReadDelayMs;
    f.readDelayMs = Math.max(parkMs, Math.min(cap, 100 * 2 ** (f.quietPolls - 1)));
    f.nextReadMs = now + f.readDelayMs;
  }

  /**
   * How long a file read by `pollAll` may wait for the next run: the gap between runs plus idleReadDelayMs of
   * slack (a late run finds it not yet due, so no herd in a regular poll). Only a file that gives at most
   * PARK_MAX_BYTES a gap at its rate (bytes per second): what a run has to read stays bounded. 0: keep its own
   * schedule (host logs, which the security detectors want within a second; runs not regular yet or far
   * apart; no read delay).
   */
  private parkMs(f: TrackedFile, rate: number): number {
    const gap = this.regularAllGapMs();
    if (f.stream.kind === 'host' || this.opts.idleReadDelayMs === 0 || gap === 0) return 0;
    if ((rate * gap) / 1000 > PARK_MAX_BYTES) return 0;
    return gap + this.opts.idleReadDelayMs;
  }

  /** The gap between the last two runs of `pollAll` when they come often enough to park files; else 0. */
  private regularAllGapMs(): number {
    return this.allGapMs <= MAX_PARK_GAP_MS ? this.allGapMs : 0;
  }

  /** Whether a file is read only when its directory's watch reports a change (or at the sweep). */
  private wakesOnEvents(f: TrackedFile): boolean {
    return this.watcher !== null && this.opts.idleReadDelayMs > 0 && this.watcher.isWatched(f.dir);
  }

  /** A watched file changed (or its name was created/renamed/deleted): read it when its delay allows. */
  private fileEvent(path: string): void {
    const key = this.byPath.get(path);
    const f = key === undefined ? undefined : this.files.get(key);
    if (f === undefined) return;
    if (f.state === 'done') {
      // Let go but still at a watched path: discovery decides whether it grew or is another file now.
      this.watcher?.markDirty(dirname(path));
      return;
    }
    this.wake(f);
  }

  private wake(f: TrackedFile): void {
    this.sleeping.delete(f);
    this.swept.delete(f);
    if (f.fd < 0 && f.state !== 'done') f.wantsOpen = true;
  }

  /** A read found nothing new; for a parked file read by `pollAll`, its directory is checked at the run's end. */
  private readEmpty(f: TrackedFile): void {
    f.lastReadEmpty = true;
    if (!this.readingAll || !f.parked) return;
    const dir = f.dir;
    if (this.polledDirs?.has(dir)) this.stoppedDirs.add(dir);
  }

  /**
   * The end of a `pollAll` run: the directories of parked files that gave nothing this time, not checked yet in
   * this run, are checked now (a rotated or restarted container writes a new file there: it is read in this
   * run, so its lines count in this window or, written before the old file's last lines were read, the next).
   */
  private checkStoppedDirs(maxBytes: number, out: LogRecord[], now: number): boolean {
    const polled = this.polledDirs;
    const due: string[] = [];
    for (const dir of this.stoppedDirs) {
      const d = polled?.get(dir);
      if (d !== undefined && d.checkedMs < this.allStartedMs) due.push(dir);
    }
    this.stoppedDirs.clear();
    if (due.length === 0) return false;
    this.counters.polledDirChecks += due.length;
    if (this.discovery.listingsHold(due)) {
      for (const dir of due) polled!.get(dir)!.checkedMs = now;
      return false;
    }
    this.refresh(now, 'polled');
    return this.readRound(maxBytes, out, now);
  }

  /** A directory switched to polling gets data: it goes back to a watch only after a quiet spell. */
  private noteData(f: TrackedFile, now: number): void {
    const polled = this.polledDirs?.get(f.dir);
    if (polled !== undefined) polled.lastDataMs = now;
  }

  /**
   * Every discoveryIntervalMs: directories whose watches fire often switch to polling (an event costs
   * ~5 µs; a trickling file is cheaper read on the adaptive schedule), polled ones quiet for
   * POLLED_QUIET_MS go back to a watch. Their sleeping files are woken: from now on they are polled.
   */
  private reviewWatches(now: number): void {
    const w = this.watcher;
    const dirs = this.polledDirs;
    if (w === null || dirs === null) return;
    // Quiet: no data for longer than two reads of a trickling file apart (parked: two runs of pollAll).
    const quietMs = Math.max(POLLED_QUIET_MS, 2 * this.opts.idleReadDelayMs, 2 * this.regularAllGapMs());
    const polled = w.review((dir) => now - (dirs.get(dir)?.lastDataMs ?? now) >= quietMs);
    dirs.forEach((_, dir) => {
      if (!w.isPolled(dir)) dirs.delete(dir);
    });
    if (polled.size === 0) return;
    // Checked now: it was listed when its watch was set up, and events reported everything until now.
    for (const dir of polled) dirs.set(dir, { lastDataMs: now, checkedMs: now, every: -1 });
    for (const f of this.sleeping) if (polled.has(f.dir)) this.sleeping.delete(f);
  }

  /**
   * `poll` mode: a full listing every discoveryIntervalMs. `watch` mode: a full stat-gated sweep every
   * sweepIntervalMs; in between, a listing of the dirty directories only when a watch reported created,
   * renamed or deleted entries (or a missing directory appeared, or some directory cannot be watched).
   */
  private discoveryDue(now: number): DiscoveryKind | null {
    const w = this.watcher;
    if (w === null) return now - this.lastDiscoveryMs >= this.opts.discoveryIntervalMs ? 'sweep' : null;
    if (now - this.lastSweepMs >= this.opts.sweepIntervalMs) return 'sweep';
    // The review runs on its own clock, so a stream of dirty directories cannot starve it.
    let due: DiscoveryKind | null = null;
    if (now - this.lastPolledMs >= this.opts.discoveryIntervalMs) {
      this.lastPolledMs = now;
      this.reviewWatches(now);
      if (w.missingAppeared()) due = 'changed';
      else if (w.needsPolling()) due = 'polled';
    }
    const gap = Math.min(EVENT_DISCOVERY_GAP_MS, this.opts.discoveryIntervalMs);
    if (w.hasDirty() && (due !== null || now - this.lastDiscoveryMs >= gap)) due = 'changed';
    return due;
  }

  /**
   * A polled discovery can be skipped when it would change nothing: every busy directory's listing still
   * holds (one stat each, no walk over the whole tree: with 1,000 busy containers the walk cost more than
   * the stats) and every file we track is open (a closed one is noticed growing only by a listing's stat).
   * A busy directory is checked as often as its files are read, at most every discovery interval: a new
   * file next to a trickling one (read every idleReadDelayMs) is seen as soon as the lines of the old one
   * would be; the stats of a thousand trickling containers' directories were the tailer's largest cost.
   * A directory whose files are all parked and gave data at their last read is *settled*: not checked, not
   * even by a run of `pollAll` (a runtime writes one file per container until it rotates or restarts, and
   * then the old file stops: checkStoppedDirs looks at the end of that run; the sweep covers anything else).
   * At 1,000 trickling files that halves the syscalls of a window close (a stat costs about a pread).
   */
  private polledListingsHold(now: number): boolean {
    const busy = this.watcher?.polledBusy() ?? null;
    const dirs = this.polledDirs;
    if (busy === null || dirs === null) return false;
    // Each polled directory's shortest read delay among its files; settled (Infinity): all its files are
    // parked and gave data at their last read.
    // (Kept in the PolledDir itself: a Map of them, built every discovery interval, was garbage per file.)
    // (forEach, not for-of: these run over every file and directory every discovery interval, and a for-of
    // allocated an iterator result per element: ~1 MB a window at 1,000 files.)
    dirs.forEach((d) => {
      d.every = -1;
    });
    let allOpen = true;
    this.files.forEach((f) => {
      if (!allOpen || f.state === 'done') return;
      if (f.fd < 0) {
        allOpen = false;
        return;
      }
      const d = dirs.get(f.dir);
      if (d === undefined) return;
      const every = f.parked && !f.lastReadEmpty ? Number.POSITIVE_INFINITY : f.readDelayMs;
      d.every = d.every < 0 ? every : Math.min(d.every, every);
    });
    if (!allOpen) return false;
    const due: string[] = [];
    busy.forEach((dir) => {
      const d = dirs.get(dir);
      // A directory with no file of its own (`var/log/pods` of a churning cluster, a pod directory) is due at
      // every discovery: a new pod's files are expected within a second.
      const every = d === undefined || d.every < 0 ? 0 : d.every;
      const settled = every === Number.POSITIVE_INFINITY;
      if (d === undefined || now - d.checkedMs >= every || (this.checkingAllDirs && !settled)) due.push(dir);
    });
    this.counters.polledDirChecks += due.length;
    if (!this.discovery.listingsHold(due)) return false;
    for (const dir of due) {
      const d = dirs.get(dir);
      if (d !== undefined) d.checkedMs = now;
    }
    return true;
  }

  /** Lists the tree, notices new, replaced (rotated) and vanished files. */
  private refresh(now: number, kind: DiscoveryKind): void {
    const first = this.discoveries === 0;
    this.discoveries++;
    this.counters.discoveries++;
    const w = this.watcher;
    let trusted: TrustedDirectory | null = null;
    if (w !== null) {
      const dirty = w.takeDirty();
      if (kind === 'sweep') {
        this.lastSweepMs = now;
        this.counters.sweeps++;
        this.swept.clear();
      } else trusted = (dir) => !dirty.has(dir) && w.isWatched(dir);
    }
    const found = this.discovery.discover(trusted);
    const present = new Set<string>();
    for (const d of found) {
      // Nothing in its directory changed and we hold it open: same inode at this path, reads will see growth.
      if (d.stable && this.isOpenAt(d.path)) {
        present.add(d.path);
        continue;
      }
      let st: Stats | undefined;
      try {
        st = statSync(d.path, { throwIfNoEntry: false });
      } catch {
        st = undefined;
      }
      if (st === undefined || !st.isFile()) continue;
      present.add(d.path);
      const key = fileKey(st);
      const previous = this.byPath.get(d.path);
      if (previous !== undefined && previous !== key) {
        const old = this.files.get(previous);
        if (old !== undefined && old.state === 'live') this.detach(old);
      }
      this.byPath.set(d.path, key);
      this.track(d, key, st, first, now);
    }
    for (const [path, key] of this.byPath) {
      if (present.has(path)) continue;
      this.byPath.delete(path);
      const f = this.files.get(key);
      if (f !== undefined && f.state === 'live') this.detach(f);
    }
    if (first) this.adoptRestoredLeftovers(now);
    // The walk stat-ed every polled directory (they are never trusted: they have no watch).
    if (this.polledDirs !== null) for (const d of this.polledDirs.values()) d.checkedMs = now;
    if (w !== null && kind === 'sweep') this.sweepSleeping(true);
    w?.sync(this.discovery.directories(), kind === 'sweep');
  }

  /**
   * The sweep's file half: a sleeping open file whose size is not where we stopped reading changed without
   * an event (grew, or was truncated): wake it, and count what it gives as missed (`missed`; at a run of
   * pollAll its event is more likely still on the way). (Closed files were stat-ed by the listing.)
   */
  private sweepSleeping(missed: boolean): void {
    for (const f of this.sleeping) {
      if (f.fd < 0) continue;
      let size = -1;
      try {
        size = fstatSync(f.fd).size;
      } catch {
        // Unreadable now: the read at its wake-up reports the error.
      }
      if (size === f.readPos) continue;
      this.sleeping.delete(f);
      if (missed) this.swept.add(f);
    }
  }

  /** Files were added, removed or changed state: rebuild the turn order and the checkpoint. */
  private markChanged(): void {
    this.orderDirty = true;
    this.fullSnapshot = true;
  }

  private isOpenAt(path: string): boolean {
    const key = this.byPath.get(path);
    const f = key === undefined ? undefined : this.files.get(key);
    return f !== undefined && f.fd >= 0 && f.state === 'live';
  }

  private track(d: DiscoveredFile, key: string, st: Stats, first: boolean, now: number): void {
    let f = this.files.get(key);
    if (f !== undefined && f.state === 'done') {
      // The same inode again: unchanged → stays done; grown → read on; different content → a new file.
      const sameContent =
        st.size === f.readPos || (st.size > f.readPos && this.sameLeadingBytes(d.path, f.fp));
      if (!sameContent) {
        this.counters.inodeReuses++;
        this.forget(f);
        f = undefined;
      } else if (st.size > f.readPos) {
        f.state = 'live';
        f.path = d.path;
        this.markChanged();
      }
    }
    if (f === undefined) {
      f = this.newFile(key, st, d.path, d);
      const entry = this.restored.get(key);
      if (entry !== undefined) {
        this.restored.delete(key);
        this.resumeFromCheckpoint(f, entry, st);
      } else if (first && !this.hadCheckpoint && this.opts.startAt === 'end') {
        f.resumeAt(st.size, this.leadingBytes(d.path));
      }
      f.lastStatMs = now;
    }
    if (f.state === 'live' && f.path !== d.path) {
      f.path = d.path;
      this.moved.add(f);
    }
    f.size = st.size;
    if (f.fd < 0 && f.state !== 'done' && st.size !== f.readPos) {
      f.wantsOpen = true;
      f.nextReadMs = 0;
      // Changed while closed and asleep: its event was missed (or it was evicted before its turn).
      if (this.sleeping.delete(f)) this.swept.add(f);
    }
  }

  private newFile(key: string, st: Stats, path: string, d: DiscoveredFile): TrackedFile {
    const f = new TrackedFile(key, st.dev, st.ino, path, d.stream, d.format, this.ctx);
    f.size = st.size;
    f.wantsOpen = true;
    this.files.set(key, f);
    this.markChanged();
    return f;
  }

  /** Resume only if the file still starts with the bytes it started with, and still holds the offset. */
  private resumeFromCheckpoint(f: TrackedFile, entry: CheckpointEntry, st: Stats): void {
    const len = fingerprintLength(entry.fingerprint);
    const leading = len > 0 ? this.leadingBytes(f.path, len) : Buffer.alloc(0);
    const matches = len === 0 || fingerprintString(leading) === entry.fingerprint;
    if (!matches) {
      this.counters.inodeReuses++;
      return;
    }
    if (st.size < entry.offset) {
      this.counters.copytruncates++;
      return;
    }
    f.resumeAt(entry.offset, leading);
  }

  /** Checkpointed files no longer at a discovered path: rotated (or moved) while we were down. */
  private adoptRestoredLeftovers(now: number): void {
    for (const [key, entry] of this.restored) {
      const [devText, inoText] = key.split(':');
      const dev = Number(devText);
      const ino = Number(inoText);
      let path: string | null = null;
      const st = this.statPath(entry.path);
      if (st !== null && st.dev === dev && st.ino === ino) path = entry.path;
      else path = locateByInode(dirname(entry.path), dev, ino);
      const found = path === null ? null : this.statPath(path);
      if (path === null || found === null) continue;
      const d = this.discovery.describeCheckpointed(entry.path);
      if (d === null) continue;
      const f = this.newFile(key, found, path, d);
      f.path = path;
      this.resumeFromCheckpoint(f, entry, found);
      f.state = 'rotated';
      f.lastStatMs = now;
    }
    this.restored.clear();
  }

  /** The file left its discovered path: drain it through its descriptor, or find it by inode. */
  private detach(f: TrackedFile): void {
    this.sleeping.delete(f);
    f.state = 'rotated';
    f.eofSinceMs = -1;
    f.nextReadMs = 0; // drain now, whatever its quiet-file delay was
    this.markChanged();
    const moved = locateByInode(dirname(f.path), f.dev, f.ino);
    if (moved !== null) {
      // Renamed within its directory: a rotation (whether or not the new file already exists).
      if (moved !== f.path) this.counters.rotations++;
      f.path = moved;
      if (f.fd < 0) f.wantsOpen = true;
      return;
    }
    if (f.fd < 0) {
      // Deleted while its descriptor was closed: what it held beyond our offset cannot be read.
      const unread = Math.max(0, f.size - f.commitOffset());
      if (unread > 0) {
        this.counters.filesLost++;
        this.counters.bytesLost += unread;
        this.logger?.warn({ path: f.path, unread }, 'log file vanished before it was read to its end');
      }
      this.forget(f);
    }
  }

  private atEof(f: TrackedFile, out: LogRecord[], now: number): void {
    // A watched file is read only when woken (an event: possibly a truncation) or at the sweep: check it.
    if (f.state === 'live' && now - f.lastStatMs < this.opts.truncateCheckMs && !this.wakesOnEvents(f))
      return;
    f.lastStatMs = now;
    let st: Stats;
    try {
      st = fstatSync(f.fd);
    } catch (err) {
      this.readFailed(f, err);
      return;
    }
    if (st.size < f.readPos) {
      this.truncated(f, out);
      this.moved.add(f);
      return;
    }
    if (f.state === 'live') {
      f.size = st.size;
      if (st.nlink === 0) this.detach(f);
      return;
    }
    // Rotated or deleted: let go once it has stopped growing for rotateWaitMs (never with unread bytes).
    if (st.size !== f.size || f.eofSinceMs < 0) {
      f.size = st.size;
      f.eofSinceMs = now;
    }
    if (now - f.eofSinceMs >= this.opts.rotateWaitMs) this.release(f, out, st);
  }

  private release(f: TrackedFile, out: LogRecord[], st: Stats): void {
    f.finish(this.io, out);
    this.counters.filesReleased++;
    this.closeFile(f);
    f.state = 'done';
    f.wantsOpen = false;
    this.markChanged();
    // Keep a done entry only while the inode could be rediscovered at a path we watch.
    const watched = [...this.byPath.entries()].some(([, key]) => key === f.key);
    if (st.nlink === 0 || !watched) this.forget(f);
  }

  /** Same inode, fewer bytes (or other leading bytes) than we read: copytruncate or plain truncation. */
  private truncated(f: TrackedFile, out: LogRecord[]): void {
    this.counters.copytruncates++;
    f.nextReadMs = 0; // read what is there now at once, whatever its schedule
    this.sleeping.delete(f);
    const copy = f.fp.length > 0 ? findCopy(dirname(f.path), f.fp, f.commitOffset(), f) : null;
    if (copy !== null) {
      const key = fileKey(copy.stats);
      const existing = this.files.get(key);
      if (existing === undefined) {
        const d: DiscoveredFile = { path: copy.path, stream: f.stream, format: 'auto', stable: false };
        const c = this.newFile(key, copy.stats, copy.path, d);
        f.handOverTo(c);
        c.state = 'rotated';
        c.lastStatMs = this.ctx.nowMs;
        this.counters.copytruncateTailsRecovered++;
        return;
      }
    } else {
      const unread = Math.max(0, f.size - f.commitOffset());
      if (unread > 0) this.counters.bytesLost += unread;
    }
    f.restart(out);
  }

  private openFile(f: TrackedFile): boolean {
    f.wantsOpen = false;
    if (this.open.size >= this.fileCap) this.evictOne(f);
    let fd = -1;
    try {
      fd = openSync(f.path, 'r');
      const st = fstatSync(fd);
      // The path may name another file now: the next discovery sorts out what happened.
      if (st.dev !== f.dev || st.ino !== f.ino) throw new Error('inode changed');
      f.fd = fd;
      if (this.evicted.delete(f.key)) this.counters.fdReopens++;
      this.open.set(f.key, f);
      return true;
    } catch {
      if (fd >= 0) {
        f.fd = fd;
        f.closeFd();
      }
      if (f.state === 'rotated') this.relocate(f);
      return false;
    }
  }

  /** A rotated file we could not reopen at its last path: find it by inode again, or count it lost. */
  private relocate(f: TrackedFile): void {
    const moved = locateByInode(dirname(f.path), f.dev, f.ino);
    if (moved !== null) {
      // Found (possibly at the same path after a transient error): retry at its next turn.
      if (moved !== f.path) this.moved.add(f);
      f.path = moved;
      f.wantsOpen = true;
      return;
    }
    const unread = Math.max(0, f.size - f.commitOffset());
    this.counters.filesLost++;
    this.counters.bytesLost += unread;
    this.logger?.warn({ path: f.path, unread }, 'rotated log file vanished before it was read to its end');
    this.forget(f);
  }

  /** Closes the least recently read descriptor, preferring live files (rotated ones are draining). */
  private evictOne(keep: TrackedFile): void {
    let victim: TrackedFile | undefined;
    for (const f of this.open.values()) {
      if (f === keep) continue;
      if (f.state === 'live') {
        victim = f;
        break;
      }
      victim ??= f;
    }
    if (victim === undefined) return;
    this.counters.fdEvictions++;
    this.evicted.add(victim.key);
    this.closeFile(victim);
    // A rotated file is still being drained: reopen it (by its located path) at its next turn. So is a
    // watched file woken by an event it has not been read for yet (no discovery will stat it soon).
    if (victim.state === 'rotated' || (!this.sleeping.has(victim) && this.wakesOnEvents(victim)))
      victim.wantsOpen = true;
  }

  private touch(f: TrackedFile): void {
    this.open.delete(f.key);
    this.open.set(f.key, f);
  }

  private closeFile(f: TrackedFile): void {
    f.closeFd();
    this.open.delete(f.key);
  }

  private forget(f: TrackedFile): void {
    this.sleeping.delete(f);
    this.swept.delete(f);
    this.closeFile(f);
    this.evicted.delete(f.key);
    this.files.delete(f.key);
    this.markChanged();
  }

  private readFailed(f: TrackedFile, err: unknown): void {
    this.counters.readErrors++;
    this.logger?.warn({ path: f.path, err }, 'log file read failed; retrying at the next discovery');
    this.closeFile(f);
  }

  /** Drops done entries whose inode is gone (they can no longer be rediscovered). */
  private pruneDone(): void {
    for (const f of this.files.values()) {
      if (f.state !== 'done') continue;
      const st = this.statPath(f.path);
      if (st === null || st.dev !== f.dev || st.ino !== f.ino) this.forget(f);
    }
  }

  private snapshot(records: LogRecord[], now: number, more: boolean): PollResult {
    // Nothing moved (the common case for many quiet files): the previous snapshot still holds.
    if (!this.fullSnapshot && this.moved.size === 0) return { records, changed: {}, removed: [], more };
    if (!this.fullSnapshot) return this.partialSnapshot(records, now, more);
    this.fullSnapshot = false;
    this.moved.clear();
    const changed: Checkpoint = {};
    const next = new Map<string, CheckpointEntry>();
    for (const f of this.files.values()) {
      const e = f.checkpointEntry(now);
      next.set(f.key, e);
      if (this.lastCheckpoint.get(f.key) !== e) changed[f.key] = e;
    }
    const removed: string[] = [];
    for (const key of this.lastCheckpoint.keys()) if (!next.has(key)) removed.push(key);
    this.lastCheckpoint = next;
    return { records, changed, removed, more };
  }

  /**
   * The same set of files as the last snapshot: only the entries of files that moved are recomputed (a poll
   * costs what it read, not what the tailer tracks: no copy of every file's entry).
   */
  private partialSnapshot(records: LogRecord[], now: number, more: boolean): PollResult {
    const changed: Checkpoint = {};
    // forEach: a window close moves every file, and a for-of allocated an iterator result for each.
    this.moved.forEach((f) => {
      const e = f.checkpointEntry(now);
      if (this.lastCheckpoint.get(f.key) === e) return;
      changed[f.key] = e;
      this.lastCheckpoint.set(f.key, e);
    });
    this.moved.clear();
    return { records, changed, removed: [], more };
  }

  private statPath(path: string): Stats | null {
    try {
      return statSync(path, { throwIfNoEntry: false }) ?? null;
    } catch {
      return null;
    }
  }

  private leadingBytes(path: string, length = this.opts.fingerprintBytes): Buffer {
    let fd = -1;
    try {
      fd = openSync(path, 'r');
      return Buffer.from(readLeadingBytes(fd, length));
    } catch {
      return Buffer.alloc(0);
    } finally {
      if (fd >= 0) closeSync(fd);
    }
  }

  private sameLeadingBytes(path: string, fp: Buffer): boolean {
    if (fp.length === 0) return true;
    const now = this.leadingBytes(path, fp.length);
    return now.equals(fp);
  }
}
