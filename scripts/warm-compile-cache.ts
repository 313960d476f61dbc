// Fills Node's compile cache (NODE_COMPILE_CACHE, https://nodejs.org/api/module.html#module-compile-cache) with
// every module a Vigil process loads, its worker threads' included: `node scripts/warm-compile-cache.ts DIR`.
// Why: Node strips the types of a .ts module with a WebAssembly build of swc, and each isolate (the main thread
// and every worker thread) that strips even one module keeps that WebAssembly memory for good: ≈ 12-18 MiB per
// isolate, ≈ 33 MiB of an agent's ≈ 175 MiB anonymous memory. A module found in the compile cache is neither
// stripped nor compiled again, so a process started with a warm cache never loads the stripper (docs/deploy.md).
// The image runs this at build time; the demo before it starts its processes.
import { spawnSync } from 'node:child_process';
import { readdirSync } from 'node:fs';
import { constants, enableCompileCache, flushCompileCache } from 'node:module';
import { join, relative, resolve } from 'node:path';

const ROOT = resolve(import.meta.dirname, '..');
/** Folders of what the processes run (cli/main.ts is the entry: it is loaded by running it, not imported). */
const SOURCE_DIRS = ['agent', 'aggregator', 'common', 'cli', 'proto/gen'];
const ENTRY = 'cli/main.ts';

function modulesUnder(dir: string): string[] {
  const out: string[] = [];
  for (const entry of readdirSync(dir, { withFileTypes: true })) {
    const path = join(dir, entry.name);
    if (entry.isDirectory()) out.push(...modulesUnder(path));
    else if (/\.(ts|js)$/.test(entry.name) && !entry.name.endsWith('.d.ts')) out.push(path);
  }
  return out;
}

/** Warms `dir`; returns the modules imported. Throws when the entry fails or a module cannot be loaded. */
async function warmCompileCache(dir: string): Promise<string[]> {
  const cacheDir = resolve(dir);
  // The entry, as a process starts it (`--version` loads the whole command tree and exits).
  const entry = spawnSync(process.execPath, [join(ROOT, ENTRY), '--version'], {
    env: { ...process.env, NODE_COMPILE_CACHE: cacheDir },
    encoding: 'utf8',
  });
  if (entry.status !== 0) throw new Error(`${ENTRY} --version failed: ${entry.stderr}`);
  // Every other module, the worker threads' entry files included (a worker compiles them in its own isolate,
  // from the same cache entries).
  // Already enabled (NODE_COMPILE_CACHE set for this process, as in the image) counts only for the same directory.
  const enabled = enableCompileCache(cacheDir);
  const { ENABLED, ALREADY_ENABLED } = constants.compileCacheStatus;
  const usable =
    enabled.status === ENABLED ||
    (enabled.status === ALREADY_ENABLED && (enabled.directory ?? '').startsWith(cacheDir));
  if (!usable)
    throw new Error(
      `compile cache not enabled in ${cacheDir} (status ${enabled.status}, ${enabled.message ?? enabled.directory})`,
    );
  const modules = SOURCE_DIRS.flatMap((d) => modulesUnder(join(ROOT, d))).filter(
    (path) => relative(ROOT, path) !== ENTRY,
  );
  for (const path of modules) await import(path);
  flushCompileCache();
  return modules.map((path) => relative(ROOT, path));
}

if (import.meta.main) {
  const dir = process.argv[2] ?? process.env.NODE_COMPILE_CACHE;
  if (!dir) throw new Error('usage: node scripts/warm-compile-cache.ts DIR (or NODE_COMPILE_CACHE=DIR)');
  const modules = await warmCompileCache(dir);
  console.log(`compile cache in ${resolve(dir)}: ${modules.length + 1} modules`);
}
