import { readdirSync, type Stats, statSync } from 'node:fs';
import { join } from 'node:path';
import { readLeadingBytesAt } from './fingerprint.ts';

// Finding a file again after it moved. Rotation renames within the same directory (kubelet:
// `0.log` → `0.log.<timestamp>`, logrotate: `syslog` → `syslog.1`), so the directory is searched.

export function fileKey(st: { dev: number; ino: number }): string {
  return `${st.dev}:${st.ino}`;
}

function siblings(dir: string): string[] {
  try {
    return readdirSync(dir).map((name) => join(dir, name));
  } catch {
    return [];
  }
}

function statOrNull(path: string): Stats | null {
  try {
    return statSync(path, { throwIfNoEntry: false }) ?? null;
  } catch {
    return null;
  }
}

/** The path in `dir` that is (dev, ino) now, or null when it is no longer there. */
export function locateByInode(dir: string, dev: number, ino: number): string | null {
  for (const path of siblings(dir)) {
    const st = statOrNull(path);
    if (st?.isFile() && st.dev === dev && st.ino === ino) return path;
  }
  return null;
}

export interface FoundCopy {
  path: string;
  stats: Stats;
}

/**
 * After a copytruncate: the copy in `dir` that starts with exactly `leading` and holds at least `minSize`
 * bytes (a different inode than the truncated one). The newest such copy wins.
 */
export function findCopy(
  dir: string,
  leading: Buffer,
  minSize: number,
  exclude: { dev: number; ino: number },
): FoundCopy | null {
  let best: FoundCopy | null = null;
  for (const path of siblings(dir)) {
    const st = statOrNull(path);
    if (st === null || !st.isFile() || st.size < minSize) continue;
    if (st.dev === exclude.dev && st.ino === exclude.ino) continue;
    const head = readLeadingBytesAt(path, leading.length);
    if (head === null || !head.equals(leading)) continue;
    if (best === null || st.mtimeMs > best.stats.mtimeMs) best = { path, stats: st };
  }
  return best;
}
