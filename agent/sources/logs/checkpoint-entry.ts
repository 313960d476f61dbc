// A stored checkpoint is read back after a restart, perhaps written by another version or damaged on disk
// while still decoding. An entry that does not have the shape the tailer resumes from would make it read at
// a NaN offset (the file never read again) or fail every poll; it is dropped instead, with a warning, and
// its file is read from its start: lines may repeat, none is lost.
import type { CheckpointEntry } from './types.ts';

/** Why a stored checkpoint cannot be resumed from, or undefined when it can. */
export function checkpointProblem(key: string, value: unknown): string | undefined {
  if (!/^\d+:\d+$/.test(key)) return `key ${JSON.stringify(key.slice(0, 80))} is not <device>:<inode>`;
  if (typeof value !== 'object' || value === null)
    return `entry is ${value === null ? 'null' : typeof value}, not an object`;
  const e = value as Partial<Record<keyof CheckpointEntry, unknown>>;
  if (typeof e.path !== 'string' || e.path === '') return 'path is not a file name';
  if (typeof e.offset !== 'number' || !Number.isSafeInteger(e.offset) || e.offset < 0)
    return `offset ${String(e.offset)} is not a byte offset`;
  if (typeof e.fingerprint !== 'string') return 'fingerprint is not a string';
  if (typeof e.updatedMs !== 'number' || !Number.isFinite(e.updatedMs)) return 'updatedMs is not a time';
  return undefined;
}
