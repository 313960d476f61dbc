// The compile cache the image and the demo warm (scripts/warm-compile-cache.ts): a process, and each of its
// worker threads, started with it must never load Node's TypeScript stripper (a WebAssembly module whose memory
// an isolate keeps for good). Checked on what a thread loads, not on memory figures (those are in docs/deploy.md).
import { type SpawnSyncReturns, spawnSync } from 'node:child_process';
import { mkdtempSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { repoRoot } from '../chart/helm.ts';

const work = mkdtempSync(join(tmpdir(), 'vigil-compile-cache-'));
afterAll(() => rmSync(work, { recursive: true, force: true }));

/** The stripper modules a worker thread importing `modules` loaded, with `cacheDir` as NODE_COMPILE_CACHE. */
function stripperInWorker(cacheDir: string, modules: string[]): string[] {
  const urls = modules.map((m) => new URL(m, `file://${repoRoot}/`).href);
  const script = `
    const { Worker } = require('node:worker_threads');
    const code = ${JSON.stringify(`
      const { parentPort } = require('node:worker_threads');
      Promise.all(${JSON.stringify(urls)}.map((u) => import(u))).then(() =>
        parentPort.postMessage(process.moduleLoadList.filter((m) => m.includes('amaro'))));
    `)};
    const w = new Worker(code, { eval: true });
    w.once('message', (loaded) => { console.log(JSON.stringify(loaded)); w.terminate(); });
    w.once('error', (e) => { console.error(e); process.exit(1); });
  `;
  const r = spawnSync(process.execPath, ['-e', script], {
    env: { ...process.env, NODE_COMPILE_CACHE: cacheDir },
    encoding: 'utf8',
  });
  if (r.status !== 0) throw new Error(`worker failed: ${r.stderr}`);
  return JSON.parse(r.stdout.trim()) as string[];
}

describe('scripts/warm-compile-cache.ts', () => {
  const cache = join(work, 'cache');
  const workerEntries = ['agent/detect/logs/mining-worker.ts', 'agent/detect/metrics/pool-worker.ts'];
  // Warmed once for every test of this block (each reads the same cache).
  let warm: SpawnSyncReturns<string>;
  beforeAll(() => {
    warm = spawnSync(process.execPath, [join(repoRoot, 'scripts/warm-compile-cache.ts'), cache], {
      encoding: 'utf8',
    });
  });

  it('warms a cache that spares the worker threads the TypeScript stripper', () => {
    expect(warm.status, warm.stderr).toBe(0);
    expect(warm.stdout).toMatch(/compile cache in .*: \d+ modules/);
    expect(readdirSync(cache).length).toBeGreaterThan(0);
    expect(stripperInWorker(cache, workerEntries)).toEqual([]);
  });

  it('is what makes the difference: with an empty cache the same worker loads the stripper', () => {
    expect(stripperInWorker(join(work, 'empty'), workerEntries).length).toBeGreaterThan(0);
  });

  it('covers the CLI entry: `cli/main.ts` started with the cache does not load the stripper', () => {
    const r = spawnSync(
      process.execPath,
      [
        '-e',
        `process.argv = [process.argv[0], ${JSON.stringify(join(repoRoot, 'cli/main.ts'))}, '--version'];
         process.on('exit', () => console.error('stripper:' + process.moduleLoadList.filter((m) => m.includes('amaro')).length));
         import(${JSON.stringify(`file://${join(repoRoot, 'cli/main.ts')}`)});`,
      ],
      { env: { ...process.env, NODE_COMPILE_CACHE: cache }, encoding: 'utf8' },
    );
    expect(r.status, r.stderr).toBe(0);
    expect(r.stderr).toContain('stripper:0');
  });
});
