// Write-then-rename so a reader never sees a half-written metric file, as with real procfs reads.
import { mkdirSync, renameSync, writeFileSync } from 'node:fs';
import { dirname } from 'node:path';

export class AtomicWriter {
  /** Last content per path: unchanged files are not rewritten, which keeps the sim light. */
  private readonly last = new Map<string, string>();
  private readonly dirs = new Set<string>();

  write(path: string, content: string): void {
    if (this.last.get(path) === content) return;
    const dir = dirname(path);
    if (!this.dirs.has(dir)) {
      mkdirSync(dir, { recursive: true });
      this.dirs.add(dir);
    }
    const tmp = `${path}.tmp`;
    writeFileSync(tmp, content);
    renameSync(tmp, path);
    this.last.set(path, content);
  }

  forget(prefix: string): void {
    for (const k of this.last.keys()) if (k.startsWith(prefix)) this.last.delete(k);
    for (const d of this.dirs) if (d.startsWith(prefix)) this.dirs.delete(d);
  }
}
