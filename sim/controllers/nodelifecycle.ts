// Node lifecycle controller: a node whose lease is older than the grace period becomes NotReady
// (conditions Unknown, unreachable taints), its pods become unready, and after the toleration period
// they are marked for deletion (Terminating) so their controllers replace them elsewhere.
import { resourceByKind } from '../api/resources.ts';
import type { Store } from '../api/store.ts';
import type { KubeObject, Node, Pod } from '../api/types.ts';
import { isoTime, type SimClock } from '../clock.ts';
import type { EventRecorder } from './events.ts';

const NODE = resourceByKind('Node');
const LEASE = resourceByKind('Lease');
const POD = resourceByKind('Pod');
const SOURCE = { component: 'node-controller' };

export interface NodeLifecycleOptions {
  /** Simulated ms without a lease renewal before a node is NotReady (real default 50 s). */
  gracePeriodMs: number;
  /** Simulated ms a NotReady node keeps its pods before they are evicted (real default 300 s). */
  podEvictionTimeoutMs: number;
}

export class NodeLifecycleController {
  private readonly notReadySince = new Map<string, number>();
  private readonly store: Store;
  private readonly events: EventRecorder;
  private readonly clock: SimClock;
  private readonly options: NodeLifecycleOptions;

  constructor(store: Store, events: EventRecorder, clock: SimClock, options: NodeLifecycleOptions) {
    this.store = store;
    this.events = events;
    this.clock = clock;
    this.options = options;
  }

  tick(): void {
    const now = this.clock.elapsedMs();
    const wall = this.clock.wallMs();
    for (const node of this.store.peek<Node>(NODE)) {
      const name = node.metadata.name;
      const lease = this.store.tryGet<KubeObject & { spec?: { renewTime?: string } }>(
        LEASE,
        'kube-node-lease',
        name,
      );
      const renew = lease?.spec?.renewTime ? Date.parse(lease.spec.renewTime) : undefined;
      if (renew === undefined) continue;
      const staleSimMs = (wall - renew) * this.clock.speed;
      if (staleSimMs < this.options.gracePeriodMs) {
        if (this.notReadySince.delete(name)) {
          const fresh = this.store.get<Node>(NODE, undefined, name);
          const taints = (fresh.spec.taints ?? []).filter((t) => t.key !== 'node.kubernetes.io/unreachable');
          if (taints.length) fresh.spec.taints = taints;
          else delete fresh.spec.taints;
          fresh.metadata.resourceVersion = '';
          this.store.update(NODE, fresh, 'main');
        }
        continue;
      }
      if (!this.notReadySince.has(name)) {
        this.notReadySince.set(name, now);
        this.markNotReady(node, wall);
      }
      const since = this.notReadySince.get(name) ?? now;
      if (now - since >= this.options.podEvictionTimeoutMs) this.evictPods(name, wall);
    }
  }

  private markNotReady(node: Node, wall: number): void {
    const name = node.metadata.name;
    const fresh = this.store.get<Node>(NODE, undefined, name);
    fresh.spec.taints = [
      ...(fresh.spec.taints ?? []).filter((t) => t.key !== 'node.kubernetes.io/unreachable'),
      { key: 'node.kubernetes.io/unreachable', effect: 'NoSchedule', timeAdded: isoTime(wall) },
      { key: 'node.kubernetes.io/unreachable', effect: 'NoExecute', timeAdded: isoTime(wall) },
    ];
    fresh.metadata.resourceVersion = '';
    this.store.update(NODE, fresh, 'main');
    const latest = this.store.get<Node>(NODE, undefined, name);
    latest.status = {
      ...latest.status,
      conditions: (latest.status?.conditions ?? []).map((c) => ({
        ...c,
        status: 'Unknown',
        reason: 'NodeStatusUnknown',
        message: 'Kubelet stopped posting node status.',
        lastTransitionTime: isoTime(wall),
      })),
    };
    this.store.update(NODE, latest, 'status');
    this.events.record(latest, {
      type: 'Normal',
      reason: 'NodeNotReady',
      message: `Node ${name} status is now: NodeNotReady`,
      source: SOURCE,
    });
    for (const pod of this.podsOn(name)) {
      const p = this.store.get<Pod>(POD, pod.metadata.namespace, pod.metadata.name);
      p.status = {
        ...p.status,
        conditions: (p.status?.conditions ?? []).map((c) =>
          c.type === 'Ready' || c.type === 'ContainersReady'
            ? { ...c, status: 'False', reason: 'NodeNotReady', lastTransitionTime: isoTime(wall) }
            : c,
        ),
        containerStatuses: (p.status?.containerStatuses ?? []).map((s) => ({ ...s, ready: false })),
      };
      this.store.update(POD, p, 'status');
      this.events.record(p, {
        type: 'Warning',
        reason: 'NodeNotReady',
        message: 'Node is not ready',
        source: SOURCE,
      });
    }
  }

  private evictPods(node: string, wall: number): void {
    for (const pod of this.podsOn(node)) {
      if (pod.metadata.deletionTimestamp) continue;
      if ((pod.metadata.ownerReferences ?? []).some((o) => o.kind === 'DaemonSet')) continue;
      const p = this.store.get<Pod>(POD, pod.metadata.namespace, pod.metadata.name);
      p.metadata.deletionTimestamp = isoTime(wall);
      this.store.update(POD, p, 'all');
      this.events.record(p, {
        type: 'Normal',
        reason: 'TaintManagerEviction',
        message: `Marking for deletion Pod ${pod.metadata.namespace}/${pod.metadata.name}`,
        source: { component: 'taint-eviction-controller' },
      });
    }
  }

  private podsOn(node: string): readonly Pod[] {
    return this.store.peek<Pod>(POD, { fields: [{ field: 'spec.nodeName', negate: false, value: node }] });
  }
}
