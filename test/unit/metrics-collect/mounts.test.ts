import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { parseSimStatfs, usageFromStatfs } from '../../../agent/sources/metrics/filesystems.ts';
import { diskFilesystems, parseMounts } from '../../../agent/sources/metrics/mounts.ts';

const FIXTURES = join(import.meta.dirname, '../../fixtures/proc');

describe('mount table', () => {
  it('keeps disk filesystems once per device (a dedicated image disk too), outside kubelet and runtime trees', () => {
    const text = readFileSync(join(FIXTURES, 'k8s-node-v2/proc/1/mounts'), 'latin1');
    expect(diskFilesystems(parseMounts(text)).map((m) => m.mountPoint)).toEqual([
      '/',
      '/data',
      '/mnt/missing',
      '/var/lib/containerd',
    ]);
  });

  it('keeps / of a real host and drops its pseudo filesystems', () => {
    const text = readFileSync(join(FIXTURES, 'real-host/proc/1/mounts'), 'latin1');
    expect(diskFilesystems(parseMounts(text)).map((m) => m.mountPoint)).toEqual(['/']);
  });

  it('unescapes octal escapes in mount points', () => {
    const [m] = parseMounts('/dev/sdb1 /mnt/my\\040disk ext4 rw 0 0\n');
    expect(m?.mountPoint).toBe('/mnt/my disk');
  });
});

describe('statfs usage', () => {
  it('counts reserved blocks as neither used nor available, like df', () => {
    const u = usageFromStatfs('/', {
      bsize: 4096,
      blocks: 1000,
      bfree: 300,
      bavail: 250,
      files: 100,
      ffree: 40,
    });
    expect(u).toEqual({
      mountPoint: '/',
      usedBytes: 700 * 4096,
      availableBytes: 250 * 4096,
      capacityBytes: 950 * 4096,
      inodesUsed: 60,
      inodesTotal: 100,
    });
  });

  it('reads the simulator statfs.json', () => {
    const u = parseSimStatfs(
      JSON.stringify({
        '/': { type: 61267, bsize: 4096, blocks: 100, bfree: 40, bavail: 35, files: 10, ffree: 4 },
      }),
    );
    expect(u).toHaveLength(1);
    expect(u[0]?.usedBytes).toBe(60 * 4096);
    expect(u[0]?.inodesUsed).toBe(6);
    expect(() => parseSimStatfs('{"/": {"bsize": "x"}}')).toThrow();
  });
});
