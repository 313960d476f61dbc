// Write-then-rename so a reader never sees a half-written metric file, as with real procfs reads.
// Writes are asynchronous and coalesced: the event loop (which also serves the API) never waits on the
// disk, and if the disk is slower than the write rate only the newest content of each file is written.
import { mkdir, rename, rm, writeFile } from 'node:fs/promises';
import { dirname } from 'node:path';

export class AtomicWriter {
  /** Last content written (or queued) per path: unchanged files are not rewritten. */
  private readonly last = new Map<string, string>();
  private readonly dirs = new Set<string>();
  private readonly pending = new Map<string, string>();
  private readonly removals = new Set<string>();
  private flushing: Promise<void> | undefined;
  private readonly concurrency: number;
  writes = 0;

  constructor(concurrency = 4) {
    this.concurrency = concurrency;
  }

  write(path: string, content: string): void {
    if (this.last.get(path) === content) return;
    this.last.set(path, content);
    this.pending.set(path, content);
    this.kick();
  }

  /** Removes a directory tree (a vanished cgroup) after the queued writes below it. */
  remove(dir: string): void {
    for (const k of this.last.keys()) if (k.startsWith(dir)) this.last.delete(k);
    for (const k of this.pending.keys()) if (k.startsWith(dir)) this.pending.delete(k);
    for (const d of this.dirs) if (d.startsWith(dir)) this.dirs.delete(d);
    this.removals.add(dir);
    this.kick();
  }

  private kick(): void {
    if (!this.flushing) this.flushing = this.flush().finally(() => (this.flushing = undefined));
  }

  private async writeOne(path: string, content: string): Promise<void> {
    const dir = dirname(path);
    if (!this.dirs.has(dir)) {
      await mkdir(dir, { recursive: true });
      this.dirs.add(dir);
    }
    const tmp = `${path}.tmp`;
    await writeFile(tmp, content);
    await rename(tmp, path);
    this.writes++;
  }

  private async flush(): Promise<void> {
    while (this.pending.size > 0 || this.removals.size > 0) {
      const batch = [...this.pending].slice(0, 256);
      for (const [p] of batch) this.pending.delete(p);
      for (let i = 0; i < batch.length; i += this.concurrency) {
        await Promise.all(
          batch.slice(i, i + this.concurrency).map(([p, c]) =>
            this.writeOne(p, c).catch(() => {
              // The directory may have been removed meanwhile (pod gone); the next write recreates it.
              this.dirs.delete(dirname(p));
            }),
          ),
        );
      }
      const removals = [...this.removals];
      this.removals.clear();
      await Promise.all(removals.map((d) => rm(d, { recursive: true, force: true })));
    }
  }

  /** Resolves once everything queued so far is on disk. */
  async idle(): Promise<void> {
    while (this.flushing) await this.flushing;
  }
}
