// Reads small pseudo-files (procfs, cgroupfs, sysfs) into one reused buffer.
//
// System calls dominate the cost of collection (each costs a few µs on a VM), so:
// - files on a pseudo-filesystem can be kept open and re-read with pread at offset 0, which regenerates
//   their content: 1 system call per read instead of 4 (open, read, read to see EOF, close). Files of a
//   regular filesystem (a simulated node) are replaced by rename, so an open descriptor would go stale:
//   those are opened per read;
// - a short read of under 2 KiB is taken as the end of the file, which saves the read that would return 0
//   for the small files that make up nearly all reads. It is safe because a seq_file read that is not at
//   the end returns at least one page minus one record (its buffer is a page or more, and it stops early
//   only when the next record does not fit), and these files' records are lines far shorter than 2 KiB.
//   Larger files (/proc/net/dev with many interfaces, a big mount table) are read until a read returns 0;
// - descriptors left unused for `IDLE_SWEEPS` samples are closed by `sweep` (a container that ended; files
//   read only every few seconds stay open), and at most `maxOpen` are kept, past which files are opened
//   per read.
import { closeSync, openSync, readSync } from 'node:fs';

const INITIAL_BYTES = 16 * 1024;
const DEFAULT_MAX_OPEN = 4096;
/** More than the longest period between two reads of one file (memory.max and pids.max: 10 s at 1 s). */
const IDLE_SWEEPS = 30;
/** A short read below this many bytes is the end of the file (see above). */
const SURELY_LAST_READ_BYTES = 2048;

interface Kept {
  fd: number;
  generation: number;
}

export class SmallFileReader {
  private buffer = Buffer.allocUnsafe(INITIAL_BYTES);
  private readonly kept = new Map<string, Kept>();
  private readonly maxOpen: number;
  private generation = 0;
  /** errno code of the last failed read (`ENOENT`, `EACCES`, …), for the one warning a caller logs. */
  lastError = '';

  constructor(maxOpen = DEFAULT_MAX_OPEN) {
    this.maxOpen = maxOpen;
  }

  /**
   * The whole file as latin1 text (these files are ASCII), or undefined when it cannot be read. With
   * `keepOpen`, the descriptor stays open for the next read of the same path.
   */
  read(path: string, keepOpen = false): string | undefined {
    const k = keepOpen ? this.kept.get(path) : undefined;
    if (k) {
      k.generation = this.generation;
      const text = this.readFd(k.fd);
      if (text !== undefined) return text;
      // The cgroup was removed (ENODEV) or the file replaced: drop the descriptor, try a fresh open once.
      this.kept.delete(path);
      closeQuietly(k.fd);
    }
    let fd: number;
    try {
      fd = openSync(path, 'r');
    } catch (error) {
      this.lastError = errorCode(error);
      return undefined;
    }
    const text = this.readFd(fd);
    if (keepOpen && text !== undefined && this.kept.size < this.maxOpen)
      this.kept.set(path, { fd, generation: this.generation });
    else closeSync(fd);
    return text;
  }

  /** Ends a sample: closes the descriptors no read used during the last `IDLE_SWEEPS` samples. */
  sweep(): void {
    for (const [path, k] of this.kept) {
      if (this.generation - k.generation < IDLE_SWEEPS) continue;
      this.kept.delete(path);
      closeQuietly(k.fd);
    }
    this.generation++;
  }

  get openFiles(): number {
    return this.kept.size;
  }

  close(): void {
    for (const k of this.kept.values()) closeQuietly(k.fd);
    this.kept.clear();
  }

  private readFd(fd: number): string | undefined {
    try {
      let length = 0;
      for (;;) {
        const room = this.buffer.length - length;
        const n = readSync(fd, this.buffer, length, room, length);
        length += n;
        if (n === 0 || (n < room && n < SURELY_LAST_READ_BYTES)) break;
        if (n < room) continue;
        const bigger = Buffer.allocUnsafe(this.buffer.length * 2);
        this.buffer.copy(bigger, 0, 0, length);
        this.buffer = bigger;
      }
      return this.buffer.toString('latin1', 0, length);
    } catch (error) {
      // A cgroup removed between open and read answers ENODEV; a dying process ESRCH.
      this.lastError = errorCode(error);
      return undefined;
    }
  }
}

function closeQuietly(fd: number): void {
  try {
    closeSync(fd);
  } catch {
    // Already closed by the kernel side going away; nothing to do.
  }
}

/** `max` (cgroup v2 for "no limit") is Infinity; anything unparsable is undefined. */
export function parseLimit(text: string): number | undefined {
  const t = text.trim();
  if (t === 'max') return Number.POSITIVE_INFINITY;
  if (t === '') return undefined;
  const n = Number(t.split(/\s/, 1)[0]);
  return Number.isFinite(n) ? n : undefined;
}

export function errorCode(error: unknown): string {
  if (typeof error === 'object' && error !== null && 'code' in error && typeof error.code === 'string')
    return error.code;
  return error instanceof Error ? error.message : String(error);
}
