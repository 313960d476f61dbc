// Watches this node's pods (a field selector, never a cluster-wide list: the agent's memory must not grow
// with the cluster) and this node's object, turning status changes into signals, and keeps the pod
// metadata that enriches everything else the agent reports. Objects are the API's JSON through the agent's own
// client (agent/kube-api): client-node's types describe them, but its times are strings here, not Dates.
import type { V1Node, V1Pod } from '@kubernetes/client-node';
import type { Logger } from '../../../common/log.ts';
import type { Signal } from '../../../common/signal.ts';
import type { KubeConnection } from '../../kube-api/connection.ts';
import { ListWatch } from '../../kube-api/list-watch.ts';
import { nodeSignals } from './node-signals.ts';
import { podSignals, ReadinessFlapTracker, workloadOf } from './pod-signals.ts';

export interface PodMeta {
  namespace: string;
  pod: string;
  uid: string;
  workload?: string;
  labels: Record<string, string>;
}

export class KubeWatcher {
  private readonly pods: ListWatch<V1Pod>;
  private readonly nodeInformer: ListWatch<V1Node>;
  private readonly byUid = new Map<string, PodMeta>();
  /** Runtime container id (without the `containerd://` scheme) → pod and container name. */
  private readonly byContainerId = new Map<string, { namespace: string; pod: string; container: string }>();
  private readonly flaps = new ReadinessFlapTracker();

  constructor(opts: {
    api: KubeConnection;
    node: string;
    emit: (s: Signal) => void;
    logger: Logger;
    now?: () => number;
  }) {
    const now = opts.now ?? Date.now;
    const podSelector = `spec.nodeName=${opts.node}`;
    const remember = (pod: V1Pod) => {
      const uid = pod.metadata?.uid;
      if (!uid) return;
      const meta: PodMeta = {
        namespace: pod.metadata?.namespace ?? '',
        pod: pod.metadata?.name ?? '',
        uid,
        labels: pod.metadata?.labels ?? {},
      };
      const workload = workloadOf(pod);
      if (workload) meta.workload = workload;
      this.byUid.set(uid, meta);
      for (const c of [
        ...(pod.status?.containerStatuses ?? []),
        ...(pod.status?.initContainerStatuses ?? []),
      ]) {
        const id = c.containerID?.replace(/^[a-z]+:\/\//, '');
        if (id) this.byContainerId.set(id, { namespace: meta.namespace, pod: meta.pod, container: c.name });
      }
    };
    const onPod = (pod: V1Pod, old?: V1Pod) => {
      remember(pod);
      for (const s of podSignals(old, pod, opts.node, now())) opts.emit(s);
      const flap = this.flaps.observe(old, pod, opts.node, now());
      if (flap) opts.emit(flap);
    };
    this.pods = new ListWatch<V1Pod>({
      api: opts.api,
      path: '/api/v1/pods',
      fieldSelector: podSelector,
      logger: opts.logger,
      onAdd: (pod) => onPod(pod),
      onUpdate: onPod,
      onDelete: (pod) => {
        if (pod.metadata?.uid) this.byUid.delete(pod.metadata.uid);
        for (const c of pod.status?.containerStatuses ?? []) {
          const id = c.containerID?.replace(/^[a-z]+:\/\//, '');
          if (id) this.byContainerId.delete(id);
        }
        this.flaps.forget(pod);
      },
    });
    this.nodeInformer = new ListWatch<V1Node>({
      api: opts.api,
      path: '/api/v1/nodes',
      fieldSelector: `metadata.name=${opts.node}`,
      logger: opts.logger,
      onAdd: (n) => {
        for (const s of nodeSignals(undefined, n, now())) opts.emit(s);
      },
      onUpdate: (n, old) => {
        for (const s of nodeSignals(old, n, now())) opts.emit(s);
      },
    });
  }

  async start(): Promise<void> {
    await Promise.all([this.pods.start(), this.nodeInformer.start()]);
  }

  async stop(): Promise<void> {
    await Promise.all([this.pods.stop(), this.nodeInformer.stop()]);
  }

  get synced(): boolean {
    return this.pods.synced();
  }

  /** Metadata of a pod on this node, by UID (log paths and cgroups carry the UID). */
  podByUid(uid: string): PodMeta | undefined {
    return this.byUid.get(uid);
  }

  /** Pod and container of a runtime container id (as cgroup paths carry it). */
  podByContainerId(id: string): { namespace: string; pod: string; container: string } | undefined {
    return this.byContainerId.get(id);
  }

  /** UIDs of this node's pods, or undefined before the first list (unknown is not "none"). */
  liveUids(): Set<string> | undefined {
    return this.synced ? new Set(this.byUid.keys()) : undefined;
  }

  /** Runtime id of a pod's container (the first container when none is named). */
  containerIdOf(namespace: string, pod: string, container?: string): string | undefined {
    for (const [id, c] of this.byContainerId) {
      if (c.namespace === namespace && c.pod === pod && (!container || c.container === container)) return id;
    }
    return undefined;
  }

  get podCount(): number {
    return this.byUid.size;
  }
}
