// The NAB data layout, read the same way by the benchmark and the inspection aid: every series CSV under
// `data/`, and the labelled anomaly windows per series (keyed by the CSV's path relative to `data/`).
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';

export function listCsv(dir: string): string[] {
  const out: string[] = [];
  for (const entry of readdirSync(dir, { withFileTypes: true })) {
    const p = join(dir, entry.name);
    if (entry.isDirectory()) out.push(...listCsv(p));
    else if (entry.name.endsWith('.csv')) out.push(p);
  }
  return out.sort();
}

export function readWindows(dataDir: string): Record<string, Array<[string, string]>> {
  return JSON.parse(readFileSync(join(dataDir, 'labels/combined_windows.json'), 'utf8')) as Record<
    string,
    Array<[string, string]>
  >;
}
