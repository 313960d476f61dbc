// The simulated machine behind a Node object: capacity, disk usage and whether its kubelet still runs.
// Faults change it; the kubelet reports it as node conditions; the node view writes it as /proc files.

export interface NodeModel {
  name: string;
  index: number;
  role: 'control-plane' | 'worker';
  ip: string;
  cpus: number;
  memoryBytes: number;
  /** Memory used outside pods (system daemons, page cache). */
  systemMemoryBytes: number;
  diskBytes: number;
  diskUsedBytes: number;
  /** Set by the node_not_ready fault: the kubelet stops posting status and running pods. */
  kubeletStopped: boolean;
  /** Extra CPU load (0..cpus) a fault adds, e.g. a latency spike on this node. */
  extraLoad: number;
  labels: Record<string, string>;
}

export function createNodeModel(
  name: string,
  index: number,
  role: NodeModel['role'],
  opts: {
    cpus?: number;
    memoryBytes?: number;
    diskBytes?: number;
    diskUsedBytes?: number;
    labels?: Record<string, string>;
  } = {},
): NodeModel {
  const memoryBytes = opts.memoryBytes ?? 8 * 2 ** 30;
  const diskBytes = opts.diskBytes ?? 100 * 2 ** 30;
  return {
    name,
    index,
    role,
    ip: `10.0.0.${10 + index}`,
    cpus: opts.cpus ?? 4,
    memoryBytes,
    systemMemoryBytes: Math.round(memoryBytes * 0.12),
    diskBytes,
    diskUsedBytes: opts.diskUsedBytes ?? Math.round(diskBytes * 0.35),
    kubeletStopped: false,
    extraLoad: 0,
    labels: opts.labels ?? {},
  };
}
