import { type Dirent, readdirSync, type Stats, statSync } from 'node:fs';
import { join } from 'node:path';

// A small glob walker of our own: segment by segment with readdir, so a pattern like
// `var/log/pods/*/*/*.log` costs one readdir per matching directory and nothing else. Listings are
// cached per directory and reused while the directory's mtime is unchanged: a stat is much cheaper than a
// readdir, and creating, renaming or deleting an entry always changes its directory's mtime. A caller that
// watches directories (change-watch.ts) may declare some listings trusted: those are reused without a stat.

/**
 * A cached listing is trusted only if it was taken this long after the directory's last change: file
 * times come from a coarse clock, so a change right after a listing could otherwise keep the same mtime.
 */
const MTIME_TRUST_MS = 1000;

interface Listing {
  mtimeMs: number;
  ino: number;
  listedAtMs: number;
  children: string[];
  seen: number;
}

/** A matched path; `stable` when its directory's listing was reused (no entry there changed). */
export interface GlobMatch {
  path: string;
  stable: boolean;
}

const WILDCARD = /[*?]/;

/** A listing still holds: the directory is the same inode with the same mtime, listed well after it. */
function listingCurrent(cached: Listing, st: Stats): boolean {
  return (
    cached.mtimeMs === st.mtimeMs && cached.ino === st.ino && cached.listedAtMs - st.mtimeMs > MTIME_TRUST_MS
  );
}

/** Directories whose cached listing is known to be current (watched, no entry changed): no stat needed. */
export type TrustedDirectory = (dir: string) => boolean;

/** `*` matches any run of characters except `/`, `?` one character; everything else is literal. */
export function globSegmentToRegExp(segment: string): RegExp {
  let source = '^';
  for (const ch of segment) {
    if (ch === '*') source += '[^/]*';
    else if (ch === '?') source += '[^/]';
    else source += ch.replace(/[.+^${}()|[\]\\]/g, '\\$&');
  }
  return new RegExp(`${source}$`);
}

/** Whether `value` matches any of the `*`/`?` patterns. */
export function matchesAny(value: string, patterns: readonly RegExp[]): boolean {
  for (const p of patterns) if (p.test(value)) return true;
  return false;
}

interface CompiledSegment {
  literal: string | null;
  regexp: RegExp | null;
  globstar: boolean;
}

export class GlobPattern {
  readonly source: string;
  private readonly segments: CompiledSegment[];
  /** Per segment index: directory → its cached, filtered listing. */
  private readonly listings: Array<Map<string, Listing>>;
  /** Directories the last walk needed but found missing, and parents of literal last segments. */
  private readonly absent = new Set<string>();
  private readonly literalParents = new Set<string>();
  private walks = 0;
  private trusted: TrustedDirectory | null = null;

  constructor(pattern: string) {
    this.source = pattern;
    this.segments = pattern
      .split('/')
      .filter((s) => s.length > 0)
      .map((s) => ({
        literal: WILDCARD.test(s) ? null : s,
        regexp: WILDCARD.test(s) && s !== '**' ? globSegmentToRegExp(s) : null,
        globstar: s === '**',
      }));
    this.listings = this.segments.map(() => new Map<string, Listing>());
  }

  /**
   * Absolute paths under `root` matching the pattern. Literal last segments are returned without a stat
   * (the caller stats every candidate that is not stable); unreadable directories are skipped.
   */
  walk(root: string, out: GlobMatch[] = [], trusted: TrustedDirectory | null = null): GlobMatch[] {
    const walk = ++this.walks;
    this.trusted = trusted;
    this.absent.clear();
    this.literalParents.clear();
    try {
      if (this.segments.length > 0) this.walkFrom(root, 0, out);
    } finally {
      this.trusted = null;
    }
    for (const level of this.listings) for (const [dir, l] of level) if (l.seen !== walk) level.delete(dir);
    return out;
  }

  /**
   * Every directory whose change can change the matches, as of the last walk: the listed ones, the ones it
   * needed but found missing, and the parents of literal file names (a file created there).
   */
  directories(into: Set<string>): void {
    for (const level of this.listings) for (const dir of level.keys()) into.add(dir);
    for (const dir of this.absent) into.add(dir);
    for (const dir of this.literalParents) into.add(dir);
  }

  /**
   * Whether every cached listing of `dir` still holds given its stat `st` (same inode, same mtime, taken
   * long enough after that mtime): a walk would reuse them. null when no listing of `dir` is cached.
   */
  listingHolds(dir: string, st: Stats): boolean | null {
    let known: boolean | null = null;
    for (const level of this.listings) {
      const cached = level.get(dir);
      if (cached === undefined) continue;
      if (!listingCurrent(cached, st)) return false;
      known = true;
    }
    return known;
  }

  /**
   * The children of `dir` that segment `index` selects (full paths), from the cache when the directory's
   * mtime says nothing changed; null when unreadable.
   */
  private list(
    dir: string,
    index: number,
    segment: CompiledSegment,
  ): { children: string[]; stable: boolean } | null {
    try {
      const level = this.listings[index] as Map<string, Listing>;
      const cached = level.get(dir);
      if (cached !== undefined && this.trusted?.(dir) === true) {
        cached.seen = this.walks;
        return { children: cached.children, stable: true };
      }
      const st = statSync(dir, { throwIfNoEntry: false });
      if (st === undefined || !st.isDirectory()) {
        this.absent.add(dir);
        return null;
      }
      if (cached !== undefined && listingCurrent(cached, st)) {
        cached.seen = this.walks;
        return { children: cached.children, stable: true };
      }
      const listedAtMs = Date.now();
      const children = this.select(dir, readdirSync(dir, { withFileTypes: true }), index, segment);
      level.set(dir, { mtimeMs: st.mtimeMs, ino: st.ino, listedAtMs, children, seen: this.walks });
      return { children, stable: false };
    } catch {
      return null;
    }
  }

  private select(dir: string, entries: Dirent[], index: number, segment: CompiledSegment): string[] {
    const prefix = dir.endsWith('/') ? dir : `${dir}/`;
    const out: string[] = [];
    if (segment.globstar) {
      for (const e of entries) if (e.isDirectory()) out.push(prefix + e.name);
      return out;
    }
    const last = index === this.segments.length - 1;
    const re = segment.regexp as RegExp;
    for (const e of entries) {
      if (!re.test(e.name)) continue;
      const wanted = last ? e.isFile() || e.isSymbolicLink() : e.isDirectory() || e.isSymbolicLink();
      if (wanted) out.push(prefix + e.name);
    }
    return out;
  }

  private walkFrom(dir: string, index: number, out: GlobMatch[]): void {
    const segment = this.segments[index];
    if (segment === undefined) return;
    const last = index === this.segments.length - 1;
    if (segment.literal !== null) {
      const path = join(dir, segment.literal);
      if (last) {
        out.push({ path, stable: false });
        this.literalParents.add(dir);
      } else this.walkFrom(path, index + 1, out);
      return;
    }
    const listing = this.list(dir, index, segment);
    if (listing === null) return;
    const { children, stable } = listing;
    if (segment.globstar) {
      this.walkFrom(dir, index + 1, out);
      for (const child of children) this.walkFrom(child, index, out);
      return;
    }
    if (last) for (const path of children) out.push({ path, stable });
    else for (const child of children) this.walkFrom(child, index + 1, out);
  }
}
