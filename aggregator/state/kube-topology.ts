// The Topology built from list+watch informers on nodes, pods, services, deployments, replicasets,
// statefulsets and daemonsets. Informers restart themselves after dropped watches and relist after 410 Gone
// (aggregator/kube/informer.ts), so the aggregator never restarts to recover its view.
import {
  AppsV1Api,
  CoreV1Api,
  type KubeConfig,
  type KubernetesObject,
  type V1Deployment,
  type V1Node,
  type V1Pod,
  type V1ReplicaSet,
  type V1Service,
} from '@kubernetes/client-node';
import type { Logger } from '../../common/log.ts';
import { type ResilientInformer, resilientInformer } from '../kube/informer.ts';
import type { ChangeEvent, NodeInfo, PodInfo, ServiceInfo, Topology, WorkloadRevision } from './topology.ts';

const REVISION = 'deployment.kubernetes.io/revision';
const MAX_CHANGES = 2000;

const revisionOf = (o: KubernetesObject) => Number(o.metadata?.annotations?.[REVISION] ?? 0);
const timeOf = (d: Date | string | undefined) => (d ? new Date(d).getTime() : 0);

function selects(selector: Record<string, string>, labels: Record<string, string> | undefined): boolean {
  const keys = Object.keys(selector);
  return keys.length > 0 && keys.every((k) => labels?.[k] === selector[k]);
}

export class KubeTopology implements Topology {
  private readonly informers: ResilientInformer<KubernetesObject>[] = [];
  private readonly nodeCache: ResilientInformer<V1Node>;
  private readonly podCache: ResilientInformer<V1Pod>;
  private readonly serviceCache: ResilientInformer<V1Service>;
  private readonly rsCache: ResilientInformer<V1ReplicaSet>;
  private readonly changeLog: ChangeEvent[] = [];
  /** Pod keys by node, kept by the pod watch: the correlator asks for a node's pods at every ranking. */
  private readonly podsByNode = new PodsByNode();

  constructor(kc: KubeConfig, logger: Logger) {
    const core = kc.makeApiClient(CoreV1Api);
    const apps = kc.makeApiClient(AppsV1Api);
    const log = logger.child({ component: 'topology' });
    const track = <T extends KubernetesObject>(i: ResilientInformer<T>) => {
      this.informers.push(i as unknown as ResilientInformer<KubernetesObject>);
      return i;
    };
    this.nodeCache = track(
      resilientInformer<V1Node>({
        kc,
        path: '/api/v1/nodes',
        list: () => core.listNode(),
        logger: log,
        onUpdate: (n, old) => {
          if (Boolean(n.spec?.unschedulable) !== Boolean(old?.spec?.unschedulable)) {
            this.record({
              kind: 'node',
              object: `Node//${n.metadata?.name}`,
              timeMs: Date.now(),
              description: `node ${n.metadata?.name} ${n.spec?.unschedulable ? 'cordoned' : 'uncordoned'}`,
            });
          }
        },
      }),
    );
    this.podCache = track(
      resilientInformer<V1Pod>({
        kc,
        path: '/api/v1/pods',
        list: () => core.listPodForAllNamespaces(),
        logger: log,
        onAdd: (p) => this.podsByNode.add(p),
        onUpdate: (p, old) => this.podsByNode.update(p, old),
        onDelete: (p) => this.podsByNode.remove(p),
      }),
    );
    this.serviceCache = track(
      resilientInformer<V1Service>({
        kc,
        path: '/api/v1/services',
        list: () => core.listServiceForAllNamespaces(),
        logger: log,
      }),
    );
    this.rsCache = track(
      resilientInformer<V1ReplicaSet>({
        kc,
        path: '/apis/apps/v1/replicasets',
        list: () => apps.listReplicaSetForAllNamespaces(),
        logger: log,
        onAdd: (rs) => {
          // A ReplicaSet created after we started is a rollout; older ones are history, not news. Its
          // creationTimestamp has whole seconds only, so the change is stamped when the watch saw it.
          const created = timeOf(rs.metadata?.creationTimestamp);
          const owner = this.deploymentOfReplicaSet(rs);
          if (!owner || created < this.startedMs - 1000) return;
          this.record({
            kind: 'rollout',
            object: owner,
            timeMs: Date.now(),
            description: `${owner} rolled out revision ${revisionOf(rs)} (${this.images(rs).join(', ')})`,
          });
        },
      }),
    );
    track(
      resilientInformer<V1Deployment>({
        kc,
        path: '/apis/apps/v1/deployments',
        list: () => apps.listDeploymentForAllNamespaces(),
        logger: log,
        onUpdate: (d, old) => {
          const was = old?.spec?.replicas;
          const now = d.spec?.replicas;
          if (was !== undefined && now !== undefined && was !== now) {
            this.record({
              kind: 'scale',
              object: `Deployment/${d.metadata?.namespace}/${d.metadata?.name}`,
              timeMs: Date.now(),
              description: `Deployment ${d.metadata?.namespace}/${d.metadata?.name} scaled ${was} → ${now}`,
            });
          }
        },
      }),
    );
  }

  private startedMs = Date.now();

  async start(): Promise<void> {
    this.startedMs = Date.now();
    await Promise.all(this.informers.map((i) => i.start()));
  }

  async stop(): Promise<void> {
    await Promise.all(this.informers.map((i) => i.stop()));
  }

  synced(): boolean {
    return this.informers.every((i) => i.synced());
  }

  /** Adds a change that did not come from a watch (a CI/CD deploy marker, a config change event). */
  record(change: ChangeEvent): void {
    this.changeLog.push(change);
    if (this.changeLog.length > MAX_CHANGES) this.changeLog.splice(0, this.changeLog.length - MAX_CHANGES);
  }

  nodes(): NodeInfo[] {
    return this.nodeCache.cache.list().map(toNodeInfo);
  }

  node(name: string): NodeInfo | undefined {
    const n = this.nodeCache.cache.get(name);
    return n ? toNodeInfo(n) : undefined;
  }

  pod(namespace: string, name: string): PodInfo | undefined {
    const p = this.podCache.cache.get(name, namespace);
    return p ? this.toPodInfo(p) : undefined;
  }

  pods(): PodInfo[] {
    return this.podCache.cache.list().map((p) => this.toPodInfo(p));
  }

  podsOnNode(node: string): PodInfo[] {
    const out: PodInfo[] = [];
    for (const { namespace, name } of this.podsByNode.on(node)) {
      const p = this.podCache.cache.get(name, namespace);
      if (p) out.push(this.toPodInfo(p));
    }
    return out;
  }

  podsOfWorkload(workload: string): PodInfo[] {
    const [kind = '', namespace = '', name = ''] = workload.split('/');
    // A Deployment owns its pods through its ReplicaSets; every other controller owns them directly.
    const owners =
      kind === 'Deployment'
        ? new Set(
            this.rsCache.cache
              .list(namespace)
              .filter((rs) => this.deploymentOfReplicaSet(rs) === workload)
              .map((rs) => `ReplicaSet/${rs.metadata?.name}`),
          )
        : new Set([`${kind}/${name}`]);
    return this.podCache.cache
      .list(namespace)
      .filter((p) => {
        const o = controllerOf(p);
        return o !== undefined && owners.has(`${o.kind}/${o.name}`);
      })
      .map((p) => this.toPodInfo(p));
  }

  services(): ServiceInfo[] {
    return this.serviceCache.cache.list().map(toServiceInfo);
  }

  servicesForPod(namespace: string, name: string): ServiceInfo[] {
    const pod = this.podCache.cache.get(name, namespace);
    if (!pod) return [];
    return this.serviceCache.cache
      .list(namespace)
      .filter((s) => selects(s.spec?.selector ?? {}, pod.metadata?.labels))
      .map(toServiceInfo);
  }

  podsForService(namespace: string, name: string): PodInfo[] {
    const svc = this.serviceCache.cache.get(name, namespace);
    const selector = svc?.spec?.selector ?? {};
    return this.podCache.cache
      .list(namespace)
      .filter((p) => selects(selector, p.metadata?.labels))
      .map((p) => this.toPodInfo(p));
  }

  serviceByHost(host: string, fromNamespace: string): ServiceInfo | undefined {
    const bare = host.replace(/:\d+$/, '').toLowerCase();
    const [name, namespace] = bare.split('.');
    if (!name) return undefined;
    const svc = this.serviceCache.cache.get(name, namespace || fromNamespace);
    return svc ? toServiceInfo(svc) : undefined;
  }

  revisions(workload: string): WorkloadRevision[] {
    const [kind, namespace, name] = workload.split('/');
    if (kind !== 'Deployment' || !namespace || !name) return [];
    return this.rsCache.cache
      .list(namespace)
      .filter((rs) => this.deploymentOfReplicaSet(rs) === workload)
      .map((rs) => ({
        workload,
        revision: revisionOf(rs),
        images: this.images(rs),
        createdMs: timeOf(rs.metadata?.creationTimestamp),
      }))
      .sort((a, b) => a.revision - b.revision);
  }

  changes(sinceMs: number): ChangeEvent[] {
    return this.changeLog.filter((c) => c.timeMs >= sinceMs);
  }

  private images(rs: V1ReplicaSet): string[] {
    return (rs.spec?.template?.spec?.containers ?? []).map((c) => c.image ?? '');
  }

  private deploymentOfReplicaSet(rs: V1ReplicaSet): string | undefined {
    const owner = rs.metadata?.ownerReferences?.find((o) => o.kind === 'Deployment');
    return owner ? `Deployment/${rs.metadata?.namespace}/${owner.name}` : undefined;
  }

  private toPodInfo(p: V1Pod): PodInfo {
    const namespace = p.metadata?.namespace ?? '';
    const info: PodInfo = {
      namespace,
      name: p.metadata?.name ?? '',
      uid: p.metadata?.uid ?? '',
      node: p.spec?.nodeName ?? '',
      labels: p.metadata?.labels ?? {},
      phase: p.status?.phase ?? 'Unknown',
      ready: p.status?.conditions?.some((c) => c.type === 'Ready' && c.status === 'True') ?? false,
      restarts: (p.status?.containerStatuses ?? []).reduce((s, c) => s + c.restartCount, 0),
      images: (p.spec?.containers ?? []).map((c) => c.image ?? ''),
      containers: (p.spec?.containers ?? []).map((c) => c.name),
    };
    const created = p.metadata?.creationTimestamp
      ? new Date(p.metadata.creationTimestamp).getTime()
      : Number.NaN;
    if (Number.isFinite(created)) info.createdMs = created;
    const owner = controllerOf(p);
    if (owner?.kind === 'ReplicaSet') {
      const rs = this.rsCache.cache.get(owner.name, namespace);
      const deployment = rs ? this.deploymentOfReplicaSet(rs) : undefined;
      info.workload = deployment ?? `ReplicaSet/${namespace}/${owner.name}`;
      if (rs) info.revision = revisionOf(rs);
    } else if (owner) {
      info.workload = `${owner.kind}/${namespace}/${owner.name}`;
    }
    return info;
  }
}

function controllerOf(p: V1Pod): { kind: string; name: string } | undefined {
  return p.metadata?.ownerReferences?.find((o) => o.controller) ?? p.metadata?.ownerReferences?.[0];
}

/** Pod keys by node name. A pod's node is set once, when it is scheduled; an update may move it from ''. */
class PodsByNode {
  readonly #byNode = new Map<string, Map<string, { namespace: string; name: string }>>();

  add(p: V1Pod): void {
    const node = p.spec?.nodeName;
    if (!node) return;
    let pods = this.#byNode.get(node);
    if (!pods) {
      pods = new Map();
      this.#byNode.set(node, pods);
    }
    const namespace = p.metadata?.namespace ?? '';
    const name = p.metadata?.name ?? '';
    pods.set(`${namespace}/${name}`, { namespace, name });
  }

  update(p: V1Pod, old: V1Pod | undefined): void {
    if (old && old.spec?.nodeName !== p.spec?.nodeName) this.remove(old);
    this.add(p);
  }

  remove(p: V1Pod): void {
    const node = p.spec?.nodeName;
    const pods = node ? this.#byNode.get(node) : undefined;
    if (!node || !pods) return;
    pods.delete(`${p.metadata?.namespace ?? ''}/${p.metadata?.name ?? ''}`);
    if (pods.size === 0) this.#byNode.delete(node);
  }

  on(node: string): Iterable<{ namespace: string; name: string }> {
    return this.#byNode.get(node)?.values() ?? [];
  }
}

function toNodeInfo(n: V1Node): NodeInfo {
  const conditions = Object.fromEntries((n.status?.conditions ?? []).map((c) => [c.type, c.status]));
  return {
    name: n.metadata?.name ?? '',
    ready: conditions['Ready'] === 'True',
    unschedulable: Boolean(n.spec?.unschedulable),
    labels: n.metadata?.labels ?? {},
    conditions,
  };
}

function toServiceInfo(s: V1Service): ServiceInfo {
  return {
    namespace: s.metadata?.namespace ?? '',
    name: s.metadata?.name ?? '',
    selector: s.spec?.selector ?? {},
    ports: (s.spec?.ports ?? []).map((p) => p.port),
  };
}
