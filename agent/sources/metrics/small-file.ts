// Reads small pseudo-files (procfs, cgroupfs, sysfs) into one reused buffer. procfs reports size 0, so the
// reader loops until end of file instead of trusting stat; the buffer only grows, never per read.
import { closeSync, openSync, readSync } from 'node:fs';

const INITIAL_BYTES = 16 * 1024;

export class SmallFileReader {
  private buffer = Buffer.allocUnsafe(INITIAL_BYTES);
  /** errno code of the last failed read (`ENOENT`, `EACCES`, …), for the one warning a caller logs. */
  lastError = '';

  /** The whole file as latin1 text (these files are ASCII), or undefined when it cannot be read. */
  read(path: string): string | undefined {
    let fd: number;
    try {
      fd = openSync(path, 'r');
    } catch (error) {
      this.lastError = errorCode(error);
      return undefined;
    }
    try {
      let length = 0;
      for (;;) {
        if (length === this.buffer.length) {
          const bigger = Buffer.allocUnsafe(this.buffer.length * 2);
          this.buffer.copy(bigger, 0, 0, length);
          this.buffer = bigger;
        }
        const n = readSync(fd, this.buffer, length, this.buffer.length - length, null);
        if (n === 0) break;
        length += n;
      }
      return this.buffer.toString('latin1', 0, length);
    } catch (error) {
      // A cgroup removed between open and read answers ENODEV; a dying process ESRCH.
      this.lastError = errorCode(error);
      return undefined;
    } finally {
      closeSync(fd);
    }
  }

  /** The first number in the file (`memory.current`, `pids.max`, `nf_conntrack_count`); `max` is Infinity. */
  readNumber(path: string): number | undefined {
    const text = this.read(path);
    return text === undefined ? undefined : parseLimit(text);
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
