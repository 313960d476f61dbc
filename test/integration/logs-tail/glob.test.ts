import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { GlobPattern } from '../../../agent/sources/logs/glob.ts';
import { makeHostRoot } from './helpers.ts';

describe('glob walker', () => {
  let cleanup = () => {};
  afterEach(() => cleanup());

  it('matches *, ? and ** segments against a real tree', () => {
    const host = makeHostRoot();
    cleanup = host.cleanup;
    const files = ['a/x/1.log', 'a/x/1.log.1', 'a/y/z/2.log', 'b/3.log', 'b/k1/4.txt'];
    for (const f of files) {
      mkdirSync(join(host.root, f, '..'), { recursive: true });
      writeFileSync(join(host.root, f), '');
    }
    const rel = (pattern: string) =>
      new GlobPattern(pattern)
        .walk(host.root)
        .map((m) => m.path.slice(host.root.length + 1))
        .sort();
    expect(rel('a/*/*.log')).toEqual(['a/x/1.log']);
    expect(rel('**/*.log')).toEqual(['a/x/1.log', 'a/y/z/2.log', 'b/3.log']);
    expect(rel('b/k?/*')).toEqual(['b/k1/4.txt']);
    expect(rel('missing/*.log')).toEqual([]);
  });

  it('reuses a trusted directory listing without looking at the directory, and names what to watch', () => {
    const host = makeHostRoot();
    cleanup = host.cleanup;
    mkdirSync(join(host.root, 'a/x'), { recursive: true });
    writeFileSync(join(host.root, 'a/x/1.log'), '');
    const g = new GlobPattern('a/*/*.log');
    const names = (trusted: ((dir: string) => boolean) | null) =>
      g
        .walk(host.root, [], trusted)
        .map((m) => `${m.path.slice(host.root.length + 1)}${m.stable ? ' (stable)' : ''}`);
    expect(names(null)).toEqual(['a/x/1.log']);
    writeFileSync(join(host.root, 'a/x/2.log'), '');
    // Trusted (a watch saw no entry change): the cached listing is used as it is, without a stat.
    expect(names(() => true)).toEqual(['a/x/1.log (stable)']);
    // Not trusted: the directory is looked at again (its mtime changed).
    expect(names(null)).toEqual(['a/x/1.log', 'a/x/2.log']);
    const dirs = new Set<string>();
    g.directories(dirs);
    expect([...dirs].map((d) => d.slice(host.root.length)).sort()).toEqual(['/a', '/a/x']);
  });
});
