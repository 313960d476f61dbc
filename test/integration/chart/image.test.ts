// No Docker engine runs here, so the image is checked by what decides whether it works: the Dockerfile's
// stages, the files .dockerignore lets in (every module the CLI loads must be among them), the packages
// `npm ci --omit=dev` installs (every package the CLI loads at run time must be a dependency), and the CLI
// started from exactly the files the image would contain.
import { spawnSync } from 'node:child_process';
import { cpSync, mkdirSync, mkdtempSync, readFileSync, rmSync, symlinkSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parse } from 'yaml';
import { VERSION } from '../../../common/version.ts';
import { isIgnored, parseDockerignore } from './dockerignore.ts';
import { repoRoot } from './helm.ts';
import { importGraph } from './import-graph.ts';

const read = (path: string) => readFileSync(join(repoRoot, path), 'utf8');
const dockerfile = read('Dockerfile');
const ignore = parseDockerignore(read('.dockerignore'));
const pkg = JSON.parse(read('package.json')) as {
  version: string;
  dependencies: Record<string, string>;
  devDependencies: Record<string, string>;
};
const chart = parse(read('charts/vigil/Chart.yaml')) as { appVersion: string };
const values = parse(read('charts/vigil/values.yaml')) as { image: { repository: string; tag: string } };

// Dockerfile instructions, one per entry, with line continuations joined.
const instructions = dockerfile
  .replace(/\\\n/g, ' ')
  .split('\n')
  .map((line) => line.trim())
  .filter((line) => line !== '' && !line.startsWith('#'));
const stages = instructions.reduce<string[][]>((acc, line) => {
  if (/^FROM\s/i.test(line)) acc.push([line]);
  else acc.at(-1)?.push(line);
  return acc;
}, []);

describe('Dockerfile', () => {
  const runtime = stages.at(-1) ?? [];

  it('runs on node:24-slim as the non-root node user from /app', () => {
    expect(runtime[0]).toBe('FROM node:24-slim');
    expect(runtime).toContain('WORKDIR /app');
    expect(runtime.filter((l) => l.startsWith('USER ')).at(-1)).toBe('USER node');
  });

  it('starts `node cli/main.ts`, so the chart args `agent` and `aggregator` pick the process', () => {
    expect(runtime.filter((l) => l.startsWith('ENTRYPOINT')).at(-1)).toBe(
      'ENTRYPOINT ["node", "cli/main.ts"]',
    );
  });

  it('warms the compile cache it points NODE_COMPILE_CACHE at, after copying the source', () => {
    const env = runtime.find((l) => /^ENV\s.*NODE_COMPILE_CACHE=/.test(l)) ?? '';
    const dir = /NODE_COMPILE_CACHE=(\S+)/.exec(env)?.[1];
    expect(dir).toBe('/app/.node-compile-cache');
    const copy = runtime.indexOf('COPY . .');
    const warm = runtime.indexOf('RUN node scripts/warm-compile-cache.ts "$NODE_COMPILE_CACHE"');
    expect(copy).toBeGreaterThan(0);
    expect(warm).toBeGreaterThan(copy);
    expect(warm).toBeLessThan(runtime.indexOf('USER node'));
    expect(isIgnored(ignore, 'scripts/warm-compile-cache.ts')).toBe(false);
  });

  it('installs production dependencies from the lockfile before copying the source', () => {
    const deps = stages.find((s) => s.some((l) => l.includes('npm ci')));
    const copyManifests = deps?.findIndex((l) => /^COPY package\.json package-lock\.json/.test(l)) ?? -1;
    const install = deps?.findIndex((l) => /^RUN npm ci --omit=dev/.test(l)) ?? -1;
    expect(copyManifests).toBeGreaterThanOrEqual(0);
    expect(install).toBeGreaterThan(copyManifests);
    expect(runtime.some((l) => /^COPY --from=\S+ \/app\/node_modules/.test(l))).toBe(true);
  });

  it('keeps the host node_modules, tests and benchmarks out of the build context', () => {
    for (const path of [
      'node_modules/lmdb/package.json',
      'test/unit/x.test.ts',
      'bench/results/x.json',
      '.git/HEAD',
    ])
      expect(isIgnored(ignore, path), path).toBe(true);
    for (const path of ['package.json', 'package-lock.json', 'cli/main.ts', 'common/signal.ts'])
      expect(isIgnored(ignore, path), path).toBe(false);
  });
});

describe('what the image loads', () => {
  const graph = importGraph(repoRoot, 'cli/main.ts');

  it('contains every module reachable from the CLI entry', () => {
    expect(graph.files).toContain('cli/main.ts');
    expect(graph.files.filter((file) => isIgnored(ignore, file))).toEqual([]);
  });

  it('gets every package the CLI imports at run time from `npm ci --omit=dev`', () => {
    const missing = [...graph.packages]
      .filter(([name]) => !(name in pkg.dependencies))
      .map(([name, importers]) => `${name} (imported by ${importers.join(', ')})`);
    expect(missing).toEqual([]);
  });

  it('is tagged with the version the code reports', () => {
    expect(chart.appVersion).toBe(pkg.version);
    expect(VERSION).toBe(pkg.version);
    expect(values.image.repository).toBe('ghcr.io/vigil-aiops/vigil');
    expect(values.image.tag).toBe('');
  });
});

describe('the CLI started from the image file set', () => {
  const context = mkdtempSync(join(tmpdir(), 'vigil-image-'));
  afterAll(() => rmSync(context, { recursive: true, force: true }));

  // The build context as .dockerignore leaves it, copied once for every test of this block.
  beforeAll(() => {
    const listed = spawnSync('git', ['ls-files', '--cached', '--others', '--exclude-standard', '-z'], {
      cwd: repoRoot,
      encoding: 'utf8',
    });
    expect(listed.status).toBe(0);
    const files = listed.stdout.split('\0').filter((file) => file !== '' && !isIgnored(ignore, file));
    for (const file of files) {
      mkdirSync(join(context, dirname(file)), { recursive: true });
      try {
        cpSync(join(repoRoot, file), join(context, file));
      } catch {
        // Listed but deleted in the working tree: the image would not have it either.
      }
    }
    // Dependencies come from the deps stage in the image; here the repository's own node_modules stands in.
    symlinkSync(join(repoRoot, 'node_modules'), join(context, 'node_modules'), 'dir');
  });

  /** Runs `node ARGS` in the copied context with the image's environment. */
  const runInImage = (args: string[]) =>
    spawnSync(process.execPath, args, {
      cwd: context,
      encoding: 'utf8',
      env: { PATH: process.env['PATH'] ?? '', NODE_ENV: 'production' },
    });

  it('prints its help with only the files .dockerignore lets in', () => {
    const run = runInImage(['cli/main.ts', '--help']);
    expect(run.stderr).toBe('');
    expect(run.status).toBe(0);
    expect(run.stdout).toMatch(/^Usage: vigil/);
  });

  it('warms the compile cache from those files, as the image build does', () => {
    const run = runInImage(['scripts/warm-compile-cache.ts', '.node-compile-cache']);
    expect(run.stderr).toBe('');
    expect(run.status).toBe(0);
    expect(run.stdout).toMatch(/compile cache in .*: \d+ modules/);
  });
});
