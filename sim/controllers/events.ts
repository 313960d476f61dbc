// Event recorder with the kubelet/controller-manager aggregation: the same (object, reason, message)
// bumps count and lastTimestamp on the existing Event instead of creating a new one.
import { resourceByKind } from '../api/resources.ts';
import type { Store } from '../api/store.ts';
import type { KubeObject } from '../api/types.ts';
import { isoTime, type SimClock } from '../clock.ts';

export interface EventSource {
  component: string;
  host?: string;
}

export interface RecordOptions {
  type: 'Normal' | 'Warning';
  reason: string;
  message: string;
  source: EventSource;
  fieldPath?: string;
}

interface EventObject extends KubeObject {
  count: number;
  lastTimestamp: string;
}

export class EventRecorder {
  private readonly store: Store;
  private readonly clock: SimClock;
  private readonly known = new Map<string, string>();
  private readonly eventType = resourceByKind('Event');
  /** Events older than this are deleted, like the API server's --event-ttl (default 1 h). */
  private readonly ttlMs: number;
  private lastSweepMs = 0;

  constructor(store: Store, clock: SimClock, ttlMs = 3_600_000) {
    this.store = store;
    this.clock = clock;
    this.ttlMs = ttlMs;
  }

  private sweep(now: number): void {
    if (now - this.lastSweepMs < 60_000) return;
    this.lastSweepMs = now;
    const expired = this.store
      .peek<EventObject>(this.eventType)
      .filter((e) => now - Date.parse(e.lastTimestamp) > this.ttlMs)
      .map((e) => e.metadata);
    for (const m of expired) this.store.delete(this.eventType, m.namespace, m.name);
    if (expired.length > 0) {
      const live = new Set(this.store.peek(this.eventType).map((e) => e.metadata.name));
      for (const [k, name] of this.known) if (!live.has(name)) this.known.delete(k);
    }
  }

  record(involved: KubeObject, options: RecordOptions): void {
    const ns = involved.metadata.namespace ?? 'default';
    const key = `${involved.metadata.uid}|${options.reason}|${options.message}|${options.fieldPath ?? ''}`;
    const now = this.clock.wallMs();
    this.sweep(now);
    const existingName = this.known.get(key);
    if (existingName) {
      const existing = this.store.tryGet<EventObject>(this.eventType, ns, existingName);
      if (existing) {
        existing.count = (existing.count ?? 1) + 1;
        existing.lastTimestamp = isoTime(now);
        this.store.update(this.eventType, existing);
        return;
      }
    }
    // Named like the real recorders: `<object>.<UnixNano in hex>`.
    const nanos = BigInt(now) * 1_000_000n + BigInt(this.known.size % 1_000_000);
    const name = `${involved.metadata.name}.${nanos.toString(16)}`;
    const involvedObject: Record<string, unknown> = {
      kind: involved.kind,
      name: involved.metadata.name,
      uid: involved.metadata.uid,
      apiVersion: involved.apiVersion,
      resourceVersion: involved.metadata.resourceVersion,
    };
    if (involved.metadata.namespace) involvedObject.namespace = involved.metadata.namespace;
    if (options.fieldPath) involvedObject.fieldPath = options.fieldPath;
    const source: Record<string, string> = { component: options.source.component };
    if (options.source.host) source.host = options.source.host;
    try {
      this.store.create(this.eventType, {
        apiVersion: 'v1',
        kind: 'Event',
        metadata: { name, namespace: ns },
        involvedObject,
        reason: options.reason,
        message: options.message,
        source,
        firstTimestamp: isoTime(now),
        lastTimestamp: isoTime(now),
        count: 1,
        type: options.type,
        eventTime: null,
        reportingComponent: options.source.component,
        reportingInstance: options.source.host ?? '',
      });
      this.known.set(key, name);
    } catch {
      // The namespace may be gone; events are best effort, as on a real cluster.
    }
  }
}
