// A small in-memory Topology for unit tests: the same interface the informer-backed one implements, filled
// by hand (nodes, pods with labels and workloads, services with selectors, revisions, changes).
import type {
  ChangeEvent,
  NodeInfo,
  PodInfo,
  ServiceInfo,
  Topology,
  WorkloadRevision,
} from '../../aggregator/state/topology.ts';

export class StaticTopology implements Topology {
  readonly #nodes = new Map<string, NodeInfo>();
  readonly #pods = new Map<string, PodInfo>();
  readonly #services: ServiceInfo[] = [];
  readonly #revisions: WorkloadRevision[] = [];
  readonly #changes: ChangeEvent[] = [];

  addNode(name: string, extra: Partial<NodeInfo> = {}): this {
    this.#nodes.set(name, {
      name,
      ready: true,
      unschedulable: false,
      labels: {},
      conditions: { Ready: 'True' },
      ...extra,
    });
    return this;
  }

  setNode(name: string, patch: Partial<NodeInfo>): this {
    const n = this.#nodes.get(name);
    if (n) Object.assign(n, patch);
    return this;
  }

  addPod(p: Partial<PodInfo> & { namespace: string; name: string; node: string }): this {
    if (!this.#nodes.has(p.node)) this.addNode(p.node);
    this.#pods.set(`${p.namespace}/${p.name}`, {
      uid: `uid-${p.namespace}-${p.name}`,
      labels: {},
      phase: 'Running',
      ready: true,
      restarts: 0,
      images: [],
      containers: ['main'],
      ...p,
    });
    return this;
  }

  /** `replicas` pods named `<app>-<i>` (or `<app>-<i>` for StatefulSets) spread round-robin over `nodes`. */
  addWorkload(opts: {
    namespace: string;
    app: string;
    kind?: string;
    replicas: number;
    nodes: string[];
    service?: boolean;
    port?: number;
    revision?: number;
  }): string[] {
    const kind = opts.kind ?? 'Deployment';
    const names: string[] = [];
    for (let i = 0; i < opts.replicas; i++) {
      const name = kind === 'StatefulSet' ? `${opts.app}-${i}` : `${opts.app}-7f9c${i.toString(36)}-x${i}`;
      const node = opts.nodes[i % opts.nodes.length] ?? 'node-1';
      const pod: Partial<PodInfo> & { namespace: string; name: string; node: string } = {
        namespace: opts.namespace,
        name,
        node,
        labels: { app: opts.app },
        workload: `${kind}/${opts.namespace}/${opts.app}`,
      };
      if (opts.revision !== undefined) pod.revision = opts.revision;
      this.addPod(pod);
      names.push(name);
    }
    if (opts.service !== false && opts.port) {
      this.addService(opts.namespace, opts.app, { app: opts.app }, [opts.port]);
    }
    return names;
  }

  removePod(namespace: string, name: string): this {
    this.#pods.delete(`${namespace}/${name}`);
    return this;
  }

  addService(namespace: string, name: string, selector: Record<string, string>, ports: number[]): this {
    this.#services.push({ namespace, name, selector, ports });
    return this;
  }

  addRevision(r: WorkloadRevision): this {
    this.#revisions.push(r);
    return this;
  }

  addChange(c: ChangeEvent): this {
    this.#changes.push(c);
    return this;
  }

  nodes(): NodeInfo[] {
    return [...this.#nodes.values()];
  }

  node(name: string): NodeInfo | undefined {
    return this.#nodes.get(name);
  }

  pod(namespace: string, name: string): PodInfo | undefined {
    return this.#pods.get(`${namespace}/${name}`);
  }

  pods(): PodInfo[] {
    return [...this.#pods.values()];
  }

  podsOnNode(node: string): PodInfo[] {
    return [...this.#pods.values()].filter((p) => p.node === node);
  }

  podsOfWorkload(workload: string): PodInfo[] {
    return [...this.#pods.values()].filter((p) => p.workload === workload);
  }

  services(): ServiceInfo[] {
    return [...this.#services];
  }

  servicesForPod(namespace: string, name: string): ServiceInfo[] {
    const pod = this.pod(namespace, name);
    if (!pod) return [];
    return this.#services.filter(
      (s) =>
        s.namespace === namespace &&
        Object.keys(s.selector).length > 0 &&
        Object.entries(s.selector).every(([k, v]) => pod.labels[k] === v),
    );
  }

  podsForService(namespace: string, name: string): PodInfo[] {
    const svc = this.#services.find((s) => s.namespace === namespace && s.name === name);
    if (!svc) return [];
    return [...this.#pods.values()].filter(
      (p) => p.namespace === namespace && Object.entries(svc.selector).every(([k, v]) => p.labels[k] === v),
    );
  }

  serviceByHost(host: string, fromNamespace: string): ServiceInfo | undefined {
    const parts = host.toLowerCase().split('.');
    const name = parts[0];
    const ns = parts.length >= 2 && parts[1] !== 'svc' ? parts[1] : fromNamespace;
    if (parts.length > 2 && parts[2] !== 'svc') return undefined;
    return this.#services.find((s) => s.name === name && s.namespace === ns);
  }

  revisions(workload: string): WorkloadRevision[] {
    return this.#revisions.filter((r) => r.workload === workload).sort((a, b) => a.revision - b.revision);
  }

  changes(sinceMs: number): ChangeEvent[] {
    return this.#changes.filter((c) => c.timeMs >= sinceMs).sort((a, b) => a.timeMs - b.timeMs);
  }
}
