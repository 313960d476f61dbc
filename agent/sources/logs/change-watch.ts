import { statSync, watch } from 'node:fs';
import { basename } from 'node:path';
import type { Logger } from '../../../common/log.ts';
import type { TailCounters } from './counters.ts';

// Change detection for the tailer: one inotify watch (`fs.watch`) per directory the globs list, so the
// per-poll cost follows the files that changed instead of the files that exist. A `change` event names a
// file whose bytes (or attributes) changed: the tailer reads it at the next poll. A `rename` event (an
// entry created, renamed or deleted) makes its directory *dirty*: the next discovery lists it again.
// A clean watched directory is trusted without even a stat. inotify can miss (overflow: libuv drops
// IN_Q_OVERFLOW silently; some network and overlay file systems), so the tailer keeps a slow stat sweep
// as the safety net, and polls directories it cannot watch as it did before.
// An event costs ~5 µs of CPU (kernel queue, libuv, a JS callback), more than reading a trickling file on
// the adaptive schedule: a directory whose watch fires often is switched to polling (`review`) until its
// files have been quiet for a while. So quiet files cost nothing and busy ones cost what polling costs.

export type WatchEventKind = 'change' | 'rename';

/** A watch that fired this often between two reviews (~0.8 s) is cheaper polled. */
const BUSY_EVENTS_PER_REVIEW = 4;

export interface DirectoryWatch {
  close(): void;
}

/** Starts watching `dir` (throws like `fs.watch`: ENOENT, ENOSPC …). Injectable for tests. */
export type WatchBackend = (
  dir: string,
  onEvent: (kind: WatchEventKind, name: string | null) => void,
  onError: (err: unknown) => void,
) => DirectoryWatch;

/** `fs.watch` on Linux: inotify on the directory; `persistent: false` so it never keeps the process alive. */
export const fsWatchBackend: WatchBackend = (dir, onEvent, onError) => {
  const w = watch(dir, { persistent: false }, (kind, name) =>
    onEvent(kind === 'change' ? 'change' : 'rename', name),
  );
  w.on('error', onError);
  return w;
};

function errorCode(err: unknown): string {
  return typeof err === 'object' && err !== null && 'code' in err ? String(err.code) : 'unknown';
}

function isDirectory(path: string): boolean {
  try {
    return statSync(path, { throwIfNoEntry: false })?.isDirectory() ?? false;
  } catch {
    return false;
  }
}

export class DirectoryWatcher {
  private readonly backend: WatchBackend;
  private readonly onFileEvent: (path: string) => void;
  private readonly counters: TailCounters;
  private readonly logger: Logger | null;
  private readonly watches = new Map<string, DirectoryWatch>();
  /** Wanted directories that could not be watched (not ENOENT): polled like before. Retried by sync(retry). */
  private readonly unwatchable = new Set<string>();
  /** Wanted directories that do not exist (yet): only their existence is polled. */
  private readonly missing = new Set<string>();
  /** Directories with an entry created/renamed/deleted since the last discovery, or newly watched. */
  private dirty = new Set<string>();
  /** Directories switched to polling because their watch fired often (see review). */
  private readonly busy = new Set<string>();
  /** Events per watched directory since the last review. */
  private readonly eventCounts = new Map<string, number>();
  private warned = false;

  constructor(
    backend: WatchBackend,
    onFileEvent: (path: string) => void,
    counters: TailCounters,
    logger: Logger | null,
  ) {
    this.backend = backend;
    this.onFileEvent = onFileEvent;
    this.counters = counters;
    this.logger = logger;
  }

  get size(): number {
    return this.watches.size;
  }

  /** An inotify watch on `dir` is live (its events reach us). */
  isWatched(dir: string): boolean {
    return this.watches.has(dir);
  }

  hasDirty(): boolean {
    return this.dirty.size > 0;
  }

  /** The dirty directories, cleared (events arriving from now on dirty them again). */
  takeDirty(): Set<string> {
    const d = this.dirty;
    this.dirty = new Set();
    return d;
  }

  markDirty(dir: string): void {
    this.dirty.add(dir);
  }

  /** Some wanted directory is not watched (cannot be, or is busy): polled at the discovery interval. */
  needsPolling(): boolean {
    return this.unwatchable.size > 0 || this.busy.size > 0;
  }

  /**
   * The directories polled because their watch fired often, or null when some wanted directory cannot be
   * watched (those are polled by a full listing).
   */
  polledBusy(): ReadonlySet<string> | null {
    return this.unwatchable.size > 0 ? null : this.busy;
  }

  /** Switched to polling because its watch fired often. */
  isPolled(dir: string): boolean {
    return this.busy.has(dir);
  }

  /**
   * Directories whose watch fired at least BUSY_EVENTS_PER_REVIEW times since the last review lose their
   * watch and are polled (returned); polled ones that `isQuiet` get their watch back (and are marked dirty).
   */
  review(isQuiet: (dir: string) => boolean): Set<string> {
    const polled = new Set<string>();
    // (forEach, not for-of: this runs over every busy directory every discovery interval, and a for-of
    // allocated an iterator result, and an entry pair, per directory.)
    this.eventCounts.forEach((n, dir) => {
      if (n < BUSY_EVENTS_PER_REVIEW || !this.watches.has(dir)) return;
      this.drop(dir);
      this.busy.add(dir);
      polled.add(dir);
      this.counters.watchesToPolling++;
    });
    this.eventCounts.clear();
    this.busy.forEach((dir) => {
      if (polled.has(dir) || !isQuiet(dir)) return;
      this.busy.delete(dir);
      this.add(dir);
    });
    return polled;
  }

  /** Whether a wanted directory that did not exist does now (one stat per missing directory). */
  missingAppeared(): boolean {
    for (const dir of this.missing) if (isDirectory(dir)) return true;
    return false;
  }

  /**
   * Watches exactly `wanted`: new directories get a watch and are marked dirty (their listing may predate
   * the watch, so the next discovery checks it again); directories no longer wanted are released.
   * `retry` tries unwatchable ones again (at each sweep: a watch limit may have been raised).
   */
  sync(wanted: ReadonlySet<string>, retry: boolean): void {
    for (const [dir, w] of this.watches) {
      if (wanted.has(dir)) continue;
      w.close();
      this.watches.delete(dir);
    }
    for (const dir of this.unwatchable) if (!wanted.has(dir) || retry) this.unwatchable.delete(dir);
    for (const dir of this.busy) if (!wanted.has(dir)) this.busy.delete(dir);
    this.missing.clear();
    for (const dir of wanted) {
      if (this.watches.has(dir) || this.unwatchable.has(dir) || this.busy.has(dir)) continue;
      this.add(dir);
    }
  }

  close(): void {
    for (const w of this.watches.values()) w.close();
    this.watches.clear();
  }

  private add(dir: string): void {
    try {
      const prefix = dir.endsWith('/') ? dir : `${dir}/`;
      const self = basename(dir);
      const w = this.backend(
        dir,
        (kind, name) => this.event(dir, prefix, self, kind, name),
        (err) => this.failed(dir, err),
      );
      this.watches.set(dir, w);
      this.dirty.add(dir);
    } catch (err) {
      const code = errorCode(err);
      if (code === 'ENOENT' || code === 'ENOTDIR') {
        this.missing.add(dir);
        return;
      }
      this.unwatchable.add(dir);
      this.counters.watchFailures++;
      if (!this.warned) {
        this.warned = true;
        this.logger?.warn(
          { dir, code },
          'cannot watch a log directory (inotify limit?); polling the directories that cannot be watched',
        );
      }
    }
  }

  private event(dir: string, prefix: string, self: string, kind: WatchEventKind, name: string | null): void {
    this.counters.watchEvents++;
    this.eventCounts.set(dir, (this.eventCounts.get(dir) ?? 0) + 1);
    if (name === null) {
      // No name (possible after an overflow on some platforms): recheck the whole directory.
      this.dirty.add(dir);
      return;
    }
    if (kind === 'rename') {
      this.dirty.add(dir);
      // The directory itself was deleted or moved: this watch now follows a dead inode. Drop it; the next
      // discovery finds out what is at the path now and watches that.
      if (name === self) this.drop(dir);
    }
    this.onFileEvent(prefix + name);
  }

  private failed(dir: string, err: unknown): void {
    this.counters.watchFailures++;
    this.logger?.debug({ dir, err }, 'directory watch failed; rechecking it at the next discovery');
    this.drop(dir);
    this.dirty.add(dir);
  }

  private drop(dir: string): void {
    const w = this.watches.get(dir);
    if (w === undefined) return;
    this.watches.delete(dir);
    try {
      w.close();
    } catch {
      // Already closed by the error that got us here.
    }
  }
}
