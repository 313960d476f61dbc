// The in-memory object store behind the API: one global, monotonically increasing resourceVersion, a
// bounded event history for watch resumption (older versions get 410 Gone), selectors that turn
// MODIFIED into ADDED/DELETED as objects enter or leave a filtered watch, and owner-reference GC.
import type { Random } from '../random.ts';
import { ApiError, alreadyExists, conflict, gone, invalid, notFound } from './errors.ts';
import { groupVersion, qualifiedName, type ResourceType, resourceByKind } from './resources.ts';
import { type FieldRequirement, type LabelRequirement, matchesFields, matchesLabels } from './selectors.ts';
import type { KubeObject } from './types.ts';

export type WatchEventType = 'ADDED' | 'MODIFIED' | 'DELETED';

export interface StoreEvent {
  rv: number;
  type: WatchEventType;
  resource: ResourceType;
  object: KubeObject;
  /** For MODIFIED: the object before the change, so filtered watches can see it enter or leave. */
  previous?: KubeObject;
}

export interface Filter {
  namespace?: string;
  labels?: LabelRequirement[];
  fields?: FieldRequirement[];
}

export interface ListResult {
  items: KubeObject[];
  resourceVersion: string;
  continueToken?: string;
  remainingItemCount?: number;
}

export interface StoreOptions {
  random: Random;
  /** Events kept for watch resumption; a watch from an older version gets 410 Gone. */
  historySize?: number;
  now?: () => number;
}

type Listener = (event: StoreEvent) => void;

const NAME_RE = /^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$/;

function keyOf(namespace: string | undefined, name: string): string {
  return namespace ? `${namespace}/${name}` : name;
}

export function matches(filter: Filter, obj: KubeObject): boolean {
  if (filter.namespace && obj.metadata.namespace !== filter.namespace) return false;
  if (filter.labels && !matchesLabels(filter.labels, obj.metadata.labels)) return false;
  if (filter.fields && !matchesFields(filter.fields, obj)) return false;
  return true;
}

export class Store {
  private rv = 1;
  private compactedRv = 0;
  private readonly objects = new Map<ResourceType, Map<string, KubeObject>>();
  private readonly history: StoreEvent[] = [];
  private readonly historySize: number;
  private readonly listeners = new Set<Listener>();
  private readonly random: Random;
  private readonly now: () => number;

  constructor(options: StoreOptions) {
    this.random = options.random;
    this.historySize = options.historySize ?? 5000;
    this.now = options.now ?? Date.now;
  }

  get resourceVersion(): string {
    return String(this.rv);
  }

  /** The oldest resourceVersion a watch can still resume from. */
  get oldestResumableVersion(): number {
    return this.compactedRv;
  }

  private bucket(t: ResourceType): Map<string, KubeObject> {
    let b = this.objects.get(t);
    if (!b) {
      b = new Map();
      this.objects.set(t, b);
    }
    return b;
  }

  subscribe(listener: Listener): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  get<T extends KubeObject = KubeObject>(t: ResourceType, namespace: string | undefined, name: string): T {
    const obj = this.bucket(t).get(keyOf(t.namespaced ? namespace : undefined, name));
    if (!obj) throw notFound(qualifiedName(t), name, t.group, t.plural);
    return structuredClone(obj) as T;
  }

  tryGet<T extends KubeObject = KubeObject>(
    t: ResourceType,
    namespace: string | undefined,
    name: string,
  ): T | undefined {
    const obj = this.bucket(t).get(keyOf(t.namespaced ? namespace : undefined, name));
    return obj ? (structuredClone(obj) as T) : undefined;
  }

  /** Read-only view without copying, for controllers that scan often. Do not mutate the results. */
  peek<T extends KubeObject = KubeObject>(t: ResourceType, filter: Filter = {}): readonly T[] {
    const out: T[] = [];
    for (const obj of this.bucket(t).values()) if (matches(filter, obj)) out.push(obj as T);
    return out;
  }

  list(t: ResourceType, filter: Filter, limit?: number, continueToken?: string): ListResult {
    const keys = [...this.bucket(t).keys()].sort();
    let start = 0;
    if (continueToken) {
      let after: string;
      try {
        after = JSON.parse(Buffer.from(continueToken, 'base64').toString('utf8')).start as string;
      } catch {
        throw new ApiError(
          400,
          'BadRequest',
          'continue key is not valid: illegal base64 data at input byte 0',
        );
      }
      start = keys.findIndex((k) => k > after);
      if (start < 0) start = keys.length;
    }
    const items: KubeObject[] = [];
    let i = start;
    for (; i < keys.length; i++) {
      const obj = this.bucket(t).get(keys[i] ?? '');
      if (!obj || !matches(filter, obj)) continue;
      if (limit && items.length >= limit) break;
      items.push(structuredClone(obj));
    }
    const result: ListResult = { items, resourceVersion: this.resourceVersion };
    if (limit && i < keys.length) {
      const lastKey = keyOf(items.at(-1)?.metadata.namespace, items.at(-1)?.metadata.name ?? '');
      result.continueToken = Buffer.from(JSON.stringify({ rv: this.rv, start: lastKey })).toString('base64');
      result.remainingItemCount = keys.length - i;
    }
    return result;
  }

  create<T extends KubeObject = KubeObject>(t: ResourceType, input: NoInfer<T>): T {
    const obj = structuredClone(input);
    obj.apiVersion = groupVersion(t);
    obj.kind = t.kind;
    const meta = obj.metadata ?? { name: '' };
    obj.metadata = meta;
    if (!meta.name && meta.generateName) meta.name = `${meta.generateName}${this.random.suffix(5)}`;
    if (!meta.name) {
      throw invalid(t.kind, '', t.group, [
        { field: 'metadata.name', message: 'Required value: name or generateName is required' },
      ]);
    }
    if (!NAME_RE.test(meta.name) || meta.name.length > 253) {
      throw invalid(t.kind, meta.name, t.group, [
        {
          field: 'metadata.name',
          message: `Invalid value: "${meta.name}": a lowercase RFC 1123 subdomain must consist of lower case alphanumeric characters, '-' or '.', and must start and end with an alphanumeric character (e.g. 'example.com', regex used for validation is '[a-z0-9]([-a-z0-9]*[a-z0-9])?(\\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*')`,
        },
      ]);
    }
    if (t.namespaced) {
      meta.namespace = meta.namespace || 'default';
      const ns = resourceByKind('Namespace');
      if (!this.bucket(ns).has(meta.namespace))
        throw notFound('namespaces', meta.namespace, '', 'namespaces');
    } else {
      delete meta.namespace;
    }
    const key = keyOf(meta.namespace, meta.name);
    if (this.bucket(t).has(key)) throw alreadyExists(qualifiedName(t), meta.name, t.group, t.plural);
    meta.uid = this.random.uuid();
    meta.creationTimestamp = new Date(this.now()).toISOString().replace(/\.\d{3}Z$/, 'Z');
    if (t.hasGeneration) meta.generation = 1;
    delete meta.deletionTimestamp;
    meta.resourceVersion = String(++this.rv);
    this.bucket(t).set(key, obj);
    this.emit({ rv: this.rv, type: 'ADDED', resource: t, object: obj });
    return structuredClone(obj);
  }

  /**
   * Replaces an object. A stale metadata.resourceVersion is a 409 Conflict. `part` chooses what the
   * caller may change: the main resource keeps the stored status (for types with a status subresource),
   * the status subresource keeps spec and metadata.
   */
  update<T extends KubeObject = KubeObject>(
    t: ResourceType,
    input: NoInfer<T>,
    part: 'main' | 'status' | 'all' = 'all',
  ): T {
    const meta = input.metadata;
    const key = keyOf(t.namespaced ? meta.namespace || 'default' : undefined, meta.name);
    const current = this.bucket(t).get(key);
    if (!current) throw notFound(qualifiedName(t), meta.name, t.group, t.plural);
    if (meta.resourceVersion && meta.resourceVersion !== current.metadata.resourceVersion) {
      throw conflict(qualifiedName(t), meta.name, t.group, t.plural);
    }
    let next: KubeObject;
    if (part === 'status') {
      next = { ...structuredClone(current), status: structuredClone(input.status) };
    } else {
      next = structuredClone(input);
      if (part === 'main' && t.subresources.some((s) => s.name === 'status')) {
        if (current.status === undefined) delete next.status;
        else next.status = structuredClone(current.status);
      }
    }
    next.apiVersion = current.apiVersion;
    next.kind = current.kind;
    next.metadata = {
      ...next.metadata,
      name: current.metadata.name,
      uid: current.metadata.uid ?? '',
      creationTimestamp: current.metadata.creationTimestamp ?? '',
    };
    if (current.metadata.namespace) next.metadata.namespace = current.metadata.namespace;
    if (t.hasGeneration) {
      const changed = JSON.stringify(next.spec) !== JSON.stringify(current.spec);
      next.metadata.generation = (current.metadata.generation ?? 1) + (changed ? 1 : 0);
    }
    next.metadata.resourceVersion = current.metadata.resourceVersion ?? '';
    // A no-op write keeps its resourceVersion and emits nothing, as on a real server.
    if (JSON.stringify(next) === JSON.stringify(current)) return structuredClone(current) as T;
    next.metadata.resourceVersion = String(++this.rv);
    this.bucket(t).set(key, next);
    this.emit({ rv: this.rv, type: 'MODIFIED', resource: t, object: next, previous: current });
    return structuredClone(next) as T;
  }

  /** Deletes immediately (grace period 0) and garbage-collects dependents unless orphaning. */
  delete(
    t: ResourceType,
    namespace: string | undefined,
    name: string,
    propagation = 'Background',
  ): KubeObject {
    const key = keyOf(t.namespaced ? namespace : undefined, name);
    const current = this.bucket(t).get(key);
    if (!current) throw notFound(qualifiedName(t), name, t.group, t.plural);
    this.bucket(t).delete(key);
    const deleted = structuredClone(current);
    deleted.metadata.resourceVersion = String(++this.rv);
    this.emit({ rv: this.rv, type: 'DELETED', resource: t, object: deleted });
    if (t.kind === 'Namespace') {
      for (const other of this.objects.keys()) {
        if (!other.namespaced) continue;
        for (const obj of [...this.bucket(other).values()]) {
          if (obj.metadata.namespace === name) this.delete(other, obj.metadata.namespace, obj.metadata.name);
        }
      }
    }
    this.collectDependents(current.metadata.uid ?? '', propagation === 'Orphan');
    return structuredClone(deleted);
  }

  private collectDependents(ownerUid: string, orphan: boolean): void {
    for (const [t, bucket] of this.objects) {
      for (const obj of [...bucket.values()]) {
        const refs = obj.metadata.ownerReferences ?? [];
        if (!refs.some((r) => r.uid === ownerUid)) continue;
        if (!bucket.has(keyOf(obj.metadata.namespace, obj.metadata.name))) continue;
        const remaining = refs.filter((r) => r.uid !== ownerUid);
        if (orphan || remaining.length > 0) {
          const copy = structuredClone(obj);
          if (remaining.length > 0) copy.metadata.ownerReferences = remaining;
          else delete copy.metadata.ownerReferences;
          copy.metadata.resourceVersion = '';
          this.update(t, copy);
        } else {
          this.delete(t, obj.metadata.namespace, obj.metadata.name);
        }
      }
    }
  }

  private emit(event: StoreEvent): void {
    this.history.push(event);
    if (this.history.length > this.historySize) {
      const dropped = this.history.splice(0, this.history.length - this.historySize);
      this.compactedRv = dropped.at(-1)?.rv ?? this.compactedRv;
    }
    for (const l of this.listeners) {
      try {
        l(event);
      } catch {
        // A failing listener must not break the write that triggered it.
      }
    }
  }

  /**
   * Events of one resource type after `fromRv`, for resuming a watch. Throws 410 Gone when the history
   * no longer reaches back that far.
   */
  eventsSince(t: ResourceType, fromRv: number): StoreEvent[] {
    if (fromRv < this.compactedRv) {
      throw gone(`too old resource version: ${fromRv} (${this.compactedRv + 1})`);
    }
    return this.history.filter((e) => e.resource === t && e.rv > fromRv);
  }

  /** Number of stored objects across all types. */
  size(): number {
    let n = 0;
    for (const b of this.objects.values()) n += b.size;
    return n;
  }

  /** The current global resourceVersion as a number. */
  currentVersion(): number {
    return this.rv;
  }
}
