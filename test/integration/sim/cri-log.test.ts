import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { type ContainerLogRef, CriLogWriter, containerLogPath } from '../../../sim/node/cri-log.ts';

const dirs: string[] = [];
afterEach(() => {
  for (const d of dirs.splice(0)) rmSync(d, { recursive: true, force: true });
});

function root(): string {
  const d = mkdtempSync(join(tmpdir(), 'vigil-cri-'));
  dirs.push(d);
  return d;
}

const ref: ContainerLogRef = {
  namespace: 'shop',
  pod: 'web-abc12',
  uid: 'u-1',
  container: 'web',
  restartCount: 0,
  containerId: 'f'.repeat(64),
};

describe('CRI log writer', () => {
  it('writes CRI lines under var/log/pods/<ns>_<pod>_<uid>/<container>/<restart>.log', () => {
    const r = root();
    const w = new CriLogWriter(r);
    w.append(ref, [
      { wallMs: Date.UTC(2024, 0, 1), stream: 'stdout', text: 'hello' },
      { wallMs: Date.UTC(2024, 0, 1, 0, 0, 1), stream: 'stderr', text: 'two\nlines' },
    ]);
    w.close();
    const path = join(r, 'var/log/pods/shop_web-abc12_u-1/web/0.log');
    expect(containerLogPath(r, ref)).toBe(path);
    expect(readFileSync(path, 'utf8')).toBe(
      '2024-01-01T00:00:00.000000000Z stdout F hello\n' +
        '2024-01-01T00:00:01.000000000Z stderr F two\n' +
        '2024-01-01T00:00:01.000000000Z stderr F lines\n',
    );
    expect(readdirSync(join(r, 'var/log/containers'))).toEqual([`web-abc12_shop_web-${'f'.repeat(64)}.log`]);
  });

  it('rotates by size like the kubelet: rename to 0.log.<timestamp>, reopen 0.log, keep maxFiles', () => {
    const r = root();
    let now = Date.UTC(2024, 0, 1, 12, 0, 0);
    const w = new CriLogWriter(r, { maxBytes: 200, maxFiles: 3, now: () => now });
    const line = { wallMs: now, stream: 'stdout' as const, text: 'x'.repeat(60) };
    for (let i = 0; i < 20; i++) {
      now += 1000;
      w.append(ref, [line]);
    }
    w.close();
    const dir = join(r, 'var/log/pods/shop_web-abc12_u-1/web');
    const files = readdirSync(dir).sort();
    expect(files).toHaveLength(3);
    expect(files).toContain('0.log');
    for (const f of files.filter((f) => f !== '0.log')) expect(f).toMatch(/^0\.log\.20240101-1200\d\d$/);
    expect(w.rotations).toBeGreaterThanOrEqual(4);
    // Every rotated file holds whole lines only.
    for (const f of files) expect(readFileSync(join(dir, f), 'utf8')).toMatch(/^(\S+ stdout F x{60}\n)*$/);
  });

  it('starts <n>.log for a restarted container and keeps only the previous one', () => {
    const r = root();
    const w = new CriLogWriter(r);
    for (let n = 0; n < 4; n++)
      w.append({ ...ref, restartCount: n }, [{ wallMs: 0, stream: 'stdout', text: `run ${n}` }]);
    w.close();
    const dir = join(r, 'var/log/pods/shop_web-abc12_u-1/web');
    expect(readdirSync(dir).sort()).toEqual(['2.log', '3.log']);
    expect(existsSync(join(dir, '3.log'))).toBe(true);
  });
});
