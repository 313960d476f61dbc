// Every file the running image loads, found by following the static imports (and `new URL('./x.ts',
// import.meta.url)` worker entries) from the CLI entry; plus the npm packages those files import at run time.
// Type-only imports are erased by Node's type stripping, so they need nothing in the image.
import { existsSync, readFileSync } from 'node:fs';
import { builtinModules } from 'node:module';
import { dirname, join, relative, resolve } from 'node:path';

export type ImportGraph = { files: string[]; packages: Map<string, string[]> };

const importPatterns = [
  // import x from '...'; export { x } from '...'; import '...' — but not `import type` / `export type`.
  /^\s*(?:import|export)\s+(?!type\s)(?:[^'";]*?\sfrom\s+)?['"]([^'"]+)['"]/gm,
  // import('...') with a literal specifier.
  /\bimport\(\s*['"]([^'"]+)['"]\s*\)/g,
  // new URL('./worker.ts', import.meta.url): worker and piscina entry files.
  /new\s+URL\(\s*['"](\.{1,2}\/[^'"]+)['"]\s*,\s*import\.meta\.url\s*\)/g,
];

function packageName(specifier: string): string {
  const parts = specifier.split('/');
  return specifier.startsWith('@') ? `${parts[0]}/${parts[1]}` : (parts[0] as string);
}

const builtins = new Set(builtinModules);

export function importGraph(root: string, entry: string): ImportGraph {
  const files = new Set<string>();
  const packages = new Map<string, string[]>();
  const queue = [resolve(root, entry)];
  while (queue.length > 0) {
    const file = queue.pop() as string;
    const rel = relative(root, file);
    if (files.has(rel)) continue;
    files.add(rel);
    if (!/\.(ts|js|mjs)$/.test(file)) continue;
    const source = readFileSync(file, 'utf8');
    for (const pattern of importPatterns) {
      for (const match of source.matchAll(pattern)) {
        const specifier = match[1] as string;
        if (specifier.startsWith('.')) {
          const target = join(dirname(file), specifier);
          if (!existsSync(target)) throw new Error(`${rel} imports ${specifier}, which does not exist`);
          queue.push(target);
        } else if (!specifier.startsWith('node:') && !builtins.has(specifier)) {
          const name = packageName(specifier);
          packages.set(name, [...(packages.get(name) ?? []), rel]);
        }
      }
    }
  }
  return { files: [...files].sort(), packages };
}
