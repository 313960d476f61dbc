// What the simulated container runtime knows about each pod on each node: container ids, restart
// counts, memory and CPU, OOM kills. The kubelet advances it; the node view (sim/node) reads it to
// write cgroup files and CRI logs.

export type ContainerPhase = 'creating' | 'running' | 'backoff' | 'pullError';

export interface TerminatedInfo {
  exitCode: number;
  reason: string;
  startedWallMs: number;
  finishedWallMs: number;
  containerId: string;
}

export interface ContainerRuntime {
  name: string;
  image: string;
  /** 64 hex characters; the containerd id that names the cgroup scope. */
  id: string;
  restartCount: number;
  phase: ContainerPhase;
  startedSimMs: number;
  startedWallMs: number;
  nextStartSimMs: number;
  consecutiveFailures: number;
  memoryBytes: number;
  leakedBytes: number;
  limitBytes: number;
  cpuMillicores: number;
  cpuUsageUsec: number;
  oomKills: number;
  everStarted: boolean;
  wasReady: boolean;
  lastTerminated?: TerminatedInfo;
}

export interface PodRuntime {
  uid: string;
  namespace: string;
  name: string;
  node: string;
  ip: string;
  qosClass: 'Guaranteed' | 'Burstable' | 'BestEffort';
  containers: ContainerRuntime[];
  labels: Record<string, string>;
}

/** One registry for the whole cluster, indexed by pod uid. */
export class RuntimeRegistry {
  private readonly pods = new Map<string, PodRuntime>();

  get(uid: string): PodRuntime | undefined {
    return this.pods.get(uid);
  }

  set(pod: PodRuntime): void {
    this.pods.set(pod.uid, pod);
  }

  remove(uid: string): void {
    this.pods.delete(uid);
  }

  onNode(node: string): PodRuntime[] {
    return [...this.pods.values()].filter((p) => p.node === node);
  }

  all(): PodRuntime[] {
    return [...this.pods.values()];
  }
}

/** Kubernetes quantities: `128Mi`, `1Gi`, `500m`, `2`. */
export function parseQuantity(q: string | number | undefined): number | undefined {
  if (q === undefined) return undefined;
  if (typeof q === 'number') return q;
  const m = /^([0-9.]+)([a-zA-Z]*)$/.exec(q.trim());
  if (!m) return undefined;
  const n = Number(m[1]);
  const unit = m[2] ?? '';
  const bin: Record<string, number> = { Ki: 2 ** 10, Mi: 2 ** 20, Gi: 2 ** 30, Ti: 2 ** 40 };
  const dec: Record<string, number> = { k: 1e3, K: 1e3, M: 1e6, G: 1e9, T: 1e12, m: 1e-3, '': 1 };
  const f = bin[unit] ?? dec[unit];
  return f === undefined ? undefined : n * f;
}
