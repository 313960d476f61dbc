import { mkdirSync, readFileSync, rmdirSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { parseMounts } from '../../../agent/sources/metrics/mounts.ts';
import { isPseudoFs } from '../../../agent/sources/metrics/pseudo-fs.ts';
import { SmallFileReader } from '../../../agent/sources/metrics/small-file.ts';

/** A cgroup2 mount of this machine where a child cgroup can be made, or undefined (not root, read-only). */
function writableCgroup2(): string | undefined {
  const name = `vigil-test-${process.pid}`;
  const mounts = parseMounts(readFileSync('/proc/self/mounts', 'latin1')).filter((m) => m.type === 'cgroup2');
  for (const m of mounts) {
    try {
      mkdirSync(join(m.mountPoint, name));
      rmdirSync(join(m.mountPoint, name));
      return join(m.mountPoint, name);
    } catch {
      // Not allowed here; try the next mount.
    }
  }
  return undefined;
}

describe('files kept open on real kernel pseudo-filesystems', () => {
  it('recognises procfs as a pseudo-filesystem and a temp dir as not one', () => {
    expect(isPseudoFs('/proc')).toBe(true);
    expect(isPseudoFs('/tmp')).toBe(false);
  });

  it('re-reads fresh /proc content through a kept descriptor', () => {
    const r = new SmallFileReader();
    const first = r.read('/proc/self/stat', true);
    // utime/stime of this busy process move as it spins.
    const until = Date.now() + 200;
    while (Date.now() < until);
    const second = r.read('/proc/self/stat', true);
    expect(r.openFiles).toBe(1);
    expect(second).not.toBe(first);
    r.close();
  });

  it('keeps a descriptor across samples that do not read it, and closes it after 30 idle samples', () => {
    const r = new SmallFileReader();
    r.read('/proc/loadavg', true);
    r.sweep(); // the end of the sample that read it
    for (let i = 0; i < 29; i++) r.sweep();
    expect(r.openFiles).toBe(1);
    r.sweep();
    expect(r.openFiles).toBe(0);
  });

  it('reads a /proc file larger than a page to its end, opened per read and kept open', () => {
    // A seq_file hands out about a page per read: stopping at the first short read would truncate it.
    const text = readFileSync('/proc/self/maps', 'latin1');
    expect(text.length).toBeGreaterThan(8192);
    const expected = text.split('\n').length;
    const r = new SmallFileReader();
    for (const keep of [false, true, true]) {
      const lines = r.read('/proc/self/maps', keep)?.split('\n').length ?? 0;
      // The process may map or unmap a little between two reads.
      expect(Math.abs(lines - expected)).toBeLessThan(expected / 10);
    }
    r.close();
  });

  const probe = writableCgroup2();
  it.skipIf(probe === undefined)('drops a kept descriptor once its cgroup is removed', () => {
    const dir = probe!;
    mkdirSync(dir);
    const r = new SmallFileReader();
    try {
      expect(r.read(join(dir, 'cgroup.procs'), true)).toBe('');
      expect(r.openFiles).toBe(1);
    } finally {
      rmdirSync(dir);
    }
    expect(r.read(join(dir, 'cgroup.procs'), true)).toBeUndefined();
    expect(r.openFiles).toBe(0);
  });
});
