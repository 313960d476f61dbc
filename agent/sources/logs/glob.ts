import { type Dirent, readdirSync } from 'node:fs';
import { join } from 'node:path';

// A small glob walker of our own: segment by segment with readdir, so a pattern like
// `var/log/pods/*/*/*.log` costs one readdir per matching directory and nothing else.

const WILDCARD = /[*?]/;

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
  }

  /**
   * Absolute paths under `root` matching the pattern. Literal last segments are returned without a stat
   * (the caller stats every candidate anyway); unreadable directories are skipped.
   */
  walk(root: string, out: string[] = []): string[] {
    if (this.segments.length > 0) this.walkFrom(root, 0, out);
    return out;
  }

  private walkFrom(dir: string, index: number, out: string[]): void {
    const segment = this.segments[index];
    if (segment === undefined) return;
    const last = index === this.segments.length - 1;
    if (segment.literal !== null) {
      const path = join(dir, segment.literal);
      if (last) out.push(path);
      else this.walkFrom(path, index + 1, out);
      return;
    }
    let entries: Dirent[];
    try {
      entries = readdirSync(dir, { withFileTypes: true });
    } catch {
      return;
    }
    if (segment.globstar) {
      this.walkFrom(dir, index + 1, out);
      for (const e of entries) {
        if (e.isDirectory()) this.walkFrom(join(dir, e.name), index, out);
      }
      return;
    }
    const re = segment.regexp as RegExp;
    for (const e of entries) {
      if (!re.test(e.name)) continue;
      if (last) {
        if (e.isFile() || e.isSymbolicLink()) out.push(join(dir, e.name));
      } else if (e.isDirectory() || e.isSymbolicLink()) {
        this.walkFrom(join(dir, e.name), index + 1, out);
      }
    }
  }
}
