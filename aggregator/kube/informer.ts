// A list+watch cache that keeps itself alive. client-node's ListWatch relists by itself after 410 Gone, but
// on any other error (API server restart, network cut) it calls its error handlers and stops; this wrapper
// restarts it with jittered backoff, so a dropped watch never needs a process restart.
import {
  type KubeConfig,
  type KubernetesListObject,
  type KubernetesObject,
  ListWatch,
  Watch,
} from '@kubernetes/client-node';
import { backoffDelay } from '../../common/grpc/backoff.ts';
import type { Logger } from '../../common/log.ts';

export interface ResilientInformer<T extends KubernetesObject> {
  cache: ListWatch<T>;
  start(): Promise<void>;
  stop(): Promise<void>;
  /** True once the first list has arrived. */
  synced(): boolean;
}

export function resilientInformer<T extends KubernetesObject>(opts: {
  kc: KubeConfig;
  path: string;
  list: () => Promise<KubernetesListObject<T>>;
  labelSelector?: string;
  fieldSelector?: string;
  logger: Logger;
  onAdd?: (obj: T) => void;
  onUpdate?: (obj: T, old?: T) => void;
  onDelete?: (obj: T) => void;
}): ResilientInformer<T> {
  let synced = false;
  let stopped = false;
  let attempt = 0;
  let timer: NodeJS.Timeout | undefined;
  // Keep the previous version of each object so update handlers can diff.
  const previous = new Map<string, T>();
  const key = (o: T) => `${o.metadata?.namespace ?? ''}/${o.metadata?.name ?? ''}`;
  const list = async () => {
    const result = await opts.list();
    synced = true;
    attempt = 0;
    return result;
  };
  const cache = new ListWatch<T>(
    opts.path,
    new Watch(opts.kc),
    list,
    false,
    opts.labelSelector,
    opts.fieldSelector,
  );
  cache.on('add', (o: T) => {
    previous.set(key(o), o);
    opts.onAdd?.(o);
  });
  cache.on('update', (o: T) => {
    const old = previous.get(key(o));
    previous.set(key(o), o);
    opts.onUpdate?.(o, old);
  });
  cache.on('delete', (o: T) => {
    previous.delete(key(o));
    opts.onDelete?.(o);
  });
  cache.on('error', (error: unknown) => {
    if (stopped) return;
    const delay = backoffDelay(attempt++, 500, 30_000);
    opts.logger.warn(
      { path: opts.path, err: error, retryInMs: delay },
      'watch failed; relisting after a pause',
    );
    timer = setTimeout(() => {
      cache.start().catch(() => {});
    }, delay);
  });
  return {
    cache,
    synced: () => synced,
    start: () => cache.start(),
    async stop() {
      stopped = true;
      clearTimeout(timer);
      await cache.stop();
    },
  };
}
