// Server-side printing: kubectl asks for `as=Table` and prints the columns the server chooses, so the
// columns and cells here follow the real API server's printers for the kinds kubectl users look at.
import type { ResourceType } from './resources.ts';
import type { Condition, KubeObject, Node, Pod, Service, Workload } from './types.ts';

interface Column {
  name: string;
  type: 'string' | 'integer' | 'date';
  format?: string;
  description: string;
  priority: number;
}

type Cell = string | number;

const col = (name: string, priority = 0, type: Column['type'] = 'string', format = ''): Column => {
  const c: Column = { name, type, description: name, priority };
  if (format) c.format = format;
  return c;
};

/** k8s.io/apimachinery HumanDuration. */
export function humanDuration(ms: number): string {
  const seconds = Math.floor(ms / 1000);
  if (seconds < -1) return '<invalid>';
  if (seconds < 0) return '0s';
  if (seconds < 120) return `${seconds}s`;
  const minutes = Math.floor(seconds / 60);
  if (minutes < 10) return seconds % 60 === 0 ? `${minutes}m` : `${minutes}m${seconds % 60}s`;
  if (minutes < 180) return `${minutes}m`;
  const hours = Math.floor(minutes / 60);
  if (hours < 8) return minutes % 60 === 0 ? `${hours}h` : `${hours}h${minutes % 60}m`;
  if (hours < 48) return `${hours}h`;
  if (hours < 24 * 8)
    return hours % 24 === 0 ? `${Math.floor(hours / 24)}d` : `${Math.floor(hours / 24)}d${hours % 24}h`;
  if (hours < 24 * 365 * 2) return `${Math.floor(hours / 24)}d`;
  return `${Math.floor(hours / 24 / 365)}y`;
}

function age(ts: string | undefined, now: number): string {
  return ts ? humanDuration(now - Date.parse(ts)) : '<unknown>';
}

function podStatusText(pod: Pod): string {
  if (pod.metadata.deletionTimestamp) return 'Terminating';
  let reason: string = pod.status?.reason ?? pod.status?.phase ?? 'Unknown';
  for (const cs of pod.status?.containerStatuses ?? []) {
    if (cs.state.waiting?.reason) reason = cs.state.waiting.reason;
    else if (cs.state.terminated?.reason) reason = cs.state.terminated.reason;
    else if (cs.state.terminated) reason = `ExitCode:${cs.state.terminated.exitCode}`;
  }
  if (
    reason === 'Running' &&
    !(pod.status?.conditions ?? []).some((c) => c.type === 'Ready' && c.status === 'True')
  ) {
    reason = 'Running';
  }
  return reason;
}

function podRestarts(pod: Pod, now: number): string {
  let restarts = 0;
  let last = 0;
  for (const cs of pod.status?.containerStatuses ?? []) {
    restarts += cs.restartCount;
    const finished = cs.lastState.terminated?.finishedAt;
    if (finished) last = Math.max(last, Date.parse(finished));
  }
  return last && restarts > 0 ? `${restarts} (${humanDuration(now - last)} ago)` : String(restarts);
}

function nodeStatus(node: Node): string {
  const ready = (node.status?.conditions ?? []).find((c: Condition) => c.type === 'Ready');
  const parts = [ready?.status === 'True' ? 'Ready' : ready ? 'NotReady' : 'Unknown'];
  if (node.spec.unschedulable) parts.push('SchedulingDisabled');
  return parts.join(',');
}

function images(w: Workload): [string, string] {
  const cs = w.spec.template?.spec.containers ?? [];
  return [cs.map((c) => c.name).join(','), cs.map((c) => c.image).join(',')];
}

function selectorText(w: Workload): string {
  return Object.entries(w.spec.selector?.matchLabels ?? {})
    .map(([k, v]) => `${k}=${v}`)
    .join(',');
}

interface Printer {
  columns: Column[];
  cells: (obj: KubeObject, now: number) => Cell[];
}

const NAME = col('Name', 0, 'string', 'name');
const AGE = col('Age');

const PRINTERS: Record<string, Printer> = {
  Pod: {
    columns: [
      NAME,
      col('Ready'),
      col('Status'),
      col('Restarts'),
      AGE,
      col('IP', 1),
      col('Node', 1),
      col('Nominated Node', 1),
      col('Readiness Gates', 1),
    ],
    cells: (o, now) => {
      const pod = o as Pod;
      const statuses = pod.status?.containerStatuses ?? [];
      const ready = statuses.filter((c) => c.ready).length;
      return [
        pod.metadata.name,
        `${ready}/${pod.spec.containers.length}`,
        podStatusText(pod),
        podRestarts(pod, now),
        age(pod.metadata.creationTimestamp, now),
        pod.status?.podIP ?? '<none>',
        pod.spec.nodeName ?? '<none>',
        '<none>',
        '<none>',
      ];
    },
  },
  Node: {
    columns: [
      NAME,
      col('Status'),
      col('Roles'),
      AGE,
      col('Version'),
      col('Internal-IP', 1),
      col('External-IP', 1),
      col('OS-Image', 1),
      col('Kernel-Version', 1),
      col('Container-Runtime', 1),
    ],
    cells: (o, now) => {
      const n = o as Node;
      const roles = Object.keys(n.metadata.labels ?? {})
        .filter((k) => k.startsWith('node-role.kubernetes.io/'))
        .map((k) => k.slice('node-role.kubernetes.io/'.length));
      const info = n.status?.nodeInfo ?? {};
      return [
        n.metadata.name,
        nodeStatus(n),
        roles.length ? roles.join(',') : '<none>',
        age(n.metadata.creationTimestamp, now),
        info.kubeletVersion ?? '',
        n.status?.addresses?.find((a) => a.type === 'InternalIP')?.address ?? '<none>',
        '<none>',
        info.osImage ?? '',
        info.kernelVersion ?? '',
        info.containerRuntimeVersion ?? '',
      ];
    },
  },
  Deployment: {
    columns: [
      NAME,
      col('Ready'),
      col('Up-to-date'),
      col('Available'),
      AGE,
      col('Containers', 1),
      col('Images', 1),
      col('Selector', 1),
    ],
    cells: (o, now) => {
      const d = o as Workload;
      const s = d.status ?? {};
      return [
        d.metadata.name,
        `${s.readyReplicas ?? 0}/${d.spec.replicas ?? 1}`,
        s.updatedReplicas ?? 0,
        s.availableReplicas ?? 0,
        age(d.metadata.creationTimestamp, now),
        ...images(d),
        selectorText(d),
      ];
    },
  },
  ReplicaSet: {
    columns: [
      NAME,
      col('Desired'),
      col('Current'),
      col('Ready'),
      AGE,
      col('Containers', 1),
      col('Images', 1),
      col('Selector', 1),
    ],
    cells: (o, now) => {
      const r = o as Workload;
      return [
        r.metadata.name,
        r.spec.replicas ?? 0,
        r.status?.replicas ?? 0,
        r.status?.readyReplicas ?? 0,
        age(r.metadata.creationTimestamp, now),
        ...images(r),
        selectorText(r),
      ];
    },
  },
  StatefulSet: {
    columns: [NAME, col('Ready'), AGE, col('Containers', 1), col('Images', 1)],
    cells: (o, now) => {
      const s = o as Workload;
      return [
        s.metadata.name,
        `${s.status?.readyReplicas ?? 0}/${s.spec.replicas ?? 1}`,
        age(s.metadata.creationTimestamp, now),
        ...images(s),
      ];
    },
  },
  DaemonSet: {
    columns: [
      NAME,
      col('Desired'),
      col('Current'),
      col('Ready'),
      col('Up-to-date'),
      col('Available'),
      col('Node Selector'),
      AGE,
    ],
    cells: (o, now) => {
      const d = o as Workload;
      const s = d.status ?? {};
      return [
        d.metadata.name,
        s.desiredNumberScheduled ?? 0,
        s.currentNumberScheduled ?? 0,
        s.numberReady ?? 0,
        s.updatedNumberScheduled ?? 0,
        s.numberAvailable ?? 0,
        '<none>',
        age(d.metadata.creationTimestamp, now),
      ];
    },
  },
  Service: {
    columns: [
      NAME,
      col('Type'),
      col('Cluster-IP'),
      col('External-IP'),
      col('Port(s)'),
      AGE,
      col('Selector', 1),
    ],
    cells: (o, now) => {
      const s = o as Service;
      return [
        s.metadata.name,
        s.spec.type ?? 'ClusterIP',
        s.spec.clusterIP ?? '<none>',
        '<none>',
        (s.spec.ports ?? []).map((p) => `${p.port}/${p.protocol ?? 'TCP'}`).join(',') || '<none>',
        age(s.metadata.creationTimestamp, now),
        Object.entries(s.spec.selector ?? {})
          .map(([k, v]) => `${k}=${v}`)
          .join(',') || '<none>',
      ];
    },
  },
  Event: {
    columns: [
      col('Last Seen'),
      col('Type'),
      col('Reason'),
      col('Object'),
      col('Subobject', 1),
      col('Source', 1),
      col('Message'),
      col('First Seen', 1),
      col('Count', 1),
      col('Name', 1),
    ],
    cells: (o, now) => {
      const e = o as KubeObject & {
        type?: string;
        reason?: string;
        message?: string;
        count?: number;
        lastTimestamp?: string;
        firstTimestamp?: string;
        eventTime?: string;
        involvedObject?: { kind?: string; name?: string; fieldPath?: string };
        source?: { component?: string; host?: string };
      };
      const io = e.involvedObject ?? {};
      return [
        age(e.lastTimestamp ?? e.eventTime, now),
        e.type ?? '',
        e.reason ?? '',
        `${(io.kind ?? '').toLowerCase()}/${io.name ?? ''}`,
        io.fieldPath ?? '',
        [e.source?.component, e.source?.host].filter(Boolean).join(', '),
        e.message ?? '',
        age(e.firstTimestamp ?? e.eventTime, now),
        e.count ?? 1,
        e.metadata.name,
      ];
    },
  },
  Namespace: {
    columns: [NAME, col('Status'), AGE],
    cells: (o, now) => [o.metadata.name, 'Active', age(o.metadata.creationTimestamp, now)],
  },
  PodDisruptionBudget: {
    columns: [NAME, col('Min Available'), col('Max Unavailable'), col('Allowed Disruptions'), AGE],
    cells: (o, now) => {
      const p = o as KubeObject & {
        spec: { minAvailable?: number | string; maxUnavailable?: number | string };
        status?: { disruptionsAllowed?: number };
      };
      return [
        p.metadata.name,
        String(p.spec.minAvailable ?? 'N/A'),
        String(p.spec.maxUnavailable ?? 'N/A'),
        p.status?.disruptionsAllowed ?? 0,
        age(p.metadata.creationTimestamp, now),
      ];
    },
  },
};

const GENERIC: Printer = {
  columns: [NAME, AGE],
  cells: (o, now) => [o.metadata.name, age(o.metadata.creationTimestamp, now)],
};

export function wantsTable(accept: string | undefined): boolean {
  return /as=Table/.test(accept ?? '');
}

export function toTable(
  t: ResourceType,
  objects: KubeObject[],
  resourceVersion: string,
  includeObject: string,
  now: number,
  continueToken?: string,
): Record<string, unknown> {
  const printer = PRINTERS[t.kind] ?? GENERIC;
  const metadata: Record<string, string> = { resourceVersion };
  if (continueToken) metadata.continue = continueToken;
  return {
    kind: 'Table',
    apiVersion: 'meta.k8s.io/v1',
    metadata,
    columnDefinitions: printer.columns,
    rows: objects.map((o) => ({
      cells: printer.cells(o, now),
      object:
        includeObject === 'None'
          ? undefined
          : includeObject === 'Object'
            ? o
            : { kind: 'PartialObjectMetadata', apiVersion: 'meta.k8s.io/v1', metadata: o.metadata },
    })),
  };
}
