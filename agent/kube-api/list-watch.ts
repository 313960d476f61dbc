// A list+watch cache of one kind of object that keeps itself alive, as client-go's reflector does: list, then
// watch from the list's resourceVersion (bookmarks keep it fresh); a watch the server ends is resumed where it
// stopped; 410 Gone (the version fell out of etcd's window) relists; any other failure (API server restart,
// network cut, RBAC) relists after a jittered backoff. A relist reports what changed while the watch was down:
// updates, and deletes for objects no longer listed.
import type { IncomingMessage } from 'node:http';
import { setTimeout as sleep } from 'node:timers/promises';
import { backoffDelay } from '../../common/grpc/backoff.ts';
import type { Logger } from '../../common/log.ts';
import { KubeApiError, type KubeConnection } from './connection.ts';

export interface KubeObject {
  metadata?: { name?: string; namespace?: string; resourceVersion?: string };
}

interface WatchEvent<T> {
  type: 'ADDED' | 'MODIFIED' | 'DELETED' | 'BOOKMARK' | 'ERROR';
  object: T & { code?: number; message?: string };
}

/** A watch event line longer than this is refused (an object is at most 1.5 MiB in etcd). */
const MAX_EVENT_BYTES = 16 << 20;

export interface ListWatchOptions<T extends KubeObject> {
  api: KubeConnection;
  /** Collection path, e.g. `/api/v1/pods`. */
  path: string;
  fieldSelector?: string;
  logger: Logger;
  /** Seconds the server keeps one watch open before ending it (it is then resumed). */
  watchTimeoutSeconds?: number;
  onAdd?: (obj: T) => void;
  onUpdate?: (obj: T, old: T) => void;
  onDelete?: (obj: T) => void;
}

export class ListWatch<T extends KubeObject> {
  private readonly opts: ListWatchOptions<T>;
  private readonly objects = new Map<string, T>();
  private readonly abort = new AbortController();
  private listed = false;
  private running: { loop: Promise<void>; listedOnce: Promise<void> } | undefined;

  constructor(opts: ListWatchOptions<T>) {
    this.opts = opts;
  }

  /** Starts the loop; resolves after the first list (or its first failure: the loop goes on retrying). */
  start(): Promise<void> {
    if (!this.running) {
      let firstList!: () => void;
      const listedOnce = new Promise<void>((r) => {
        firstList = r;
      });
      this.running = { loop: this.run(firstList), listedOnce };
    }
    return this.running.listedOnce;
  }

  async stop(): Promise<void> {
    this.abort.abort();
    await this.running?.loop;
  }

  /** True once the first list has arrived. */
  synced(): boolean {
    return this.listed;
  }

  list(): T[] {
    return [...this.objects.values()];
  }

  private async run(firstList: () => void): Promise<void> {
    const signal = this.abort.signal;
    let attempt = 0;
    while (!signal.aborted) {
      try {
        let version = await this.relist();
        this.listed = true;
        firstList();
        attempt = 0;
        for (;;) {
          const startedMs = Date.now();
          const next = await this.watch(version, signal);
          if (next === 'gone') break; // relist
          version = next;
          // A server that ends every watch at once must not make this a busy loop.
          if (Date.now() - startedMs < 1000) await sleep(1000, undefined, { signal });
        }
      } catch (error) {
        firstList();
        if (signal.aborted) break;
        const delayMs = backoffDelay(attempt++, 500, 30_000);
        this.opts.logger.warn(
          { path: this.opts.path, err: error, retryInMs: delayMs },
          'Kubernetes watch failed; relisting after a pause',
        );
        await sleep(delayMs, undefined, { signal }).catch(() => {});
      }
    }
  }

  /** Lists, reports the difference to what is cached, and returns the list's resourceVersion. */
  private async relist(): Promise<string> {
    const result = await this.opts.api.get<{ items?: T[]; metadata?: { resourceVersion?: string } }>(
      this.opts.path,
      { fieldSelector: this.opts.fieldSelector },
    );
    const seen = new Set<string>();
    for (const obj of result.items ?? []) {
      const key = keyOf(obj);
      seen.add(key);
      this.apply('MODIFIED', obj, key);
    }
    for (const [key, old] of this.objects) {
      if (seen.has(key)) continue;
      this.objects.delete(key);
      this.opts.onDelete?.(old);
    }
    return result.metadata?.resourceVersion ?? '';
  }

  /** One watch request: the version to resume from when the server ended it, 'gone' when a relist is needed. */
  private async watch(version: string, signal: AbortSignal): Promise<string | 'gone'> {
    // Spread over 5-10 minutes as client-go does, so that a node's watches do not all end together.
    const timeoutSeconds = this.opts.watchTimeoutSeconds ?? 300 + Math.floor(Math.random() * 300);
    const res = await this.opts.api.stream(
      this.opts.path,
      {
        watch: '1',
        resourceVersion: version,
        allowWatchBookmarks: 'true',
        timeoutSeconds: String(timeoutSeconds),
        fieldSelector: this.opts.fieldSelector,
      },
      signal,
      // A connection that died without a reset sends nothing, and the server's own end never comes.
      (timeoutSeconds + 60) * 1000,
    );
    let latest = version;
    for await (const line of lines(res)) {
      let event: WatchEvent<T>;
      try {
        event = JSON.parse(line) as WatchEvent<T>;
      } catch {
        throw new Error(`watch of ${this.opts.path} sent a line that is not JSON: ${line.slice(0, 80)}`);
      }
      if (event.type === 'ERROR') {
        if (event.object.code === 410) return 'gone';
        throw new KubeApiError(
          event.object.code ?? 0,
          'WatchError',
          event.object.message ?? line.slice(0, 200),
        );
      }
      latest = event.object.metadata?.resourceVersion ?? latest;
      if (event.type !== 'BOOKMARK') this.apply(event.type, event.object, keyOf(event.object));
    }
    return latest;
  }

  private apply(type: 'ADDED' | 'MODIFIED' | 'DELETED', obj: T, key: string): void {
    const old = this.objects.get(key);
    if (type === 'DELETED') {
      this.objects.delete(key);
      if (old) this.opts.onDelete?.(obj);
      return;
    }
    this.objects.set(key, obj);
    if (!old) this.opts.onAdd?.(obj);
    else if (old.metadata?.resourceVersion !== obj.metadata?.resourceVersion) this.opts.onUpdate?.(obj, old);
  }
}

function keyOf(obj: KubeObject): string {
  return `${obj.metadata?.namespace ?? ''}/${obj.metadata?.name ?? ''}`;
}

/** Newline-separated lines of a response (the watch protocol), each at most MAX_EVENT_BYTES. */
async function* lines(res: IncomingMessage): AsyncGenerator<string> {
  let pending: Buffer[] = [];
  let pendingBytes = 0;
  for await (const chunk of res as AsyncIterable<Buffer>) {
    let start = 0;
    let nl = chunk.indexOf(10);
    while (nl >= 0) {
      pending.push(chunk.subarray(start, nl));
      const line = Buffer.concat(pending).toString('utf8');
      pending = [];
      pendingBytes = 0;
      if (line.trim()) yield line;
      start = nl + 1;
      nl = chunk.indexOf(10, start);
    }
    if (start < chunk.length) {
      pending.push(chunk.subarray(start));
      pendingBytes += chunk.length - start;
      if (pendingBytes > MAX_EVENT_BYTES) {
        res.destroy();
        throw new Error(`a watch event exceeds ${MAX_EVENT_BYTES >> 20} MiB`);
      }
    }
  }
}
