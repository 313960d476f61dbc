// Benign audit traffic of a small, quiet cluster (3 nodes, a shop app, monitoring, the Vigil agent), minute
// by minute: kubelet and control-plane leases, node status, scheduler bindings, a rollout every 20 minutes,
// Prometheus listing pods cluster-wide, the agent listing its node's pods, health probes and an admin's
// occasional kubectl. Deterministic. Used to measure what the rules and the baseline say about normal life.

const ADMIN_IP = '10.0.12.7';

interface Req {
  user: string;
  verb: string;
  resource?: string;
  apiGroup?: string;
  ns?: string;
  name?: string;
  sub?: string;
  uri?: string;
  code?: number;
  ua: string;
  ip: string;
  requestObject?: unknown;
}

function eventLine(r: Req, atMs: number, id: string): string {
  const base = r.apiGroup ? `/apis/${r.apiGroup}/v1` : '/api/v1';
  const path = [base, ...(r.ns ? ['namespaces', r.ns] : []), r.resource, r.name, r.sub]
    .filter(Boolean)
    .join('/');
  const code = r.code ?? (r.verb === 'create' ? 201 : 200);
  const ev: Record<string, unknown> = {
    kind: 'Event',
    apiVersion: 'audit.k8s.io/v1',
    level: 'Metadata',
    auditID: id,
    stage: 'ResponseComplete',
    requestURI: r.uri ?? path,
    verb: r.verb,
    user: { username: r.user, groups: groupsOf(r.user) },
    sourceIPs: [r.ip],
    userAgent: r.ua,
  };
  if (r.resource) {
    ev['objectRef'] = {
      resource: r.resource,
      ...(r.ns ? { namespace: r.ns } : {}),
      ...(r.name ? { name: r.name } : {}),
      ...(r.sub ? { subresource: r.sub } : {}),
      apiGroup: r.apiGroup ?? '',
      apiVersion: 'v1',
    };
  }
  ev['responseStatus'] = { metadata: {}, code };
  if (r.requestObject) ev['requestObject'] = r.requestObject;
  ev['requestReceivedTimestamp'] = new Date(atMs).toISOString();
  ev['stageTimestamp'] = new Date(atMs + 3).toISOString();
  ev['annotations'] = { 'authorization.k8s.io/decision': 'allow', 'authorization.k8s.io/reason': '' };
  return JSON.stringify(ev);
}

function groupsOf(user: string): string[] {
  if (user.startsWith('system:serviceaccount:')) return ['system:serviceaccounts', 'system:authenticated'];
  if (user.startsWith('system:node:')) return ['system:nodes', 'system:authenticated'];
  if (user === 'system:anonymous') return ['system:unauthenticated'];
  return ['system:authenticated'];
}

const NODES = ['node-1', 'node-2', 'node-3'];

function podObject(name: string, ns: string, image: string): unknown {
  return {
    kind: 'Pod',
    apiVersion: 'v1',
    metadata: { name, namespace: ns, labels: { app: name.split('-')[0] } },
    spec: {
      containers: [{ name: 'app', image, ports: [{ containerPort: 8080 }] }],
      serviceAccountName: 'web',
    },
  };
}

/** The requests of minute `m` (offsets in ms within the minute). */
function minuteOf(m: number): Array<[number, Req]> {
  const out: Array<[number, Req]> = [];
  for (const [i, node] of NODES.entries()) {
    const user = `system:node:${node}`;
    const ip = `10.0.0.${11 + i}`;
    const ua = 'kubelet/v1.35.0 (linux/amd64) kubernetes/8d1a3b2';
    for (let k = 0; k < 6; k++) {
      out.push([
        k * 10_000 + i * 700,
        {
          user,
          verb: 'update',
          resource: 'leases',
          apiGroup: 'coordination.k8s.io',
          ns: 'kube-node-lease',
          name: node,
          ua,
          ip,
        },
      ]);
    }
    out.push([
      30_000 + i * 500,
      { user, verb: 'patch', resource: 'nodes', name: node, sub: 'status', ua, ip },
    ]);
    out.push([
      31_000 + i * 500,
      { user, verb: 'get', resource: 'secrets', ns: 'shop', name: 'web-tls', ua, ip },
    ]);
    if (m % 5 === i) {
      out.push([
        40_000,
        { user, verb: 'create', resource: 'serviceaccounts', ns: 'shop', name: 'web', sub: 'token', ua, ip },
      ]);
    }
  }
  const cm = {
    user: 'system:kube-controller-manager',
    ua: 'kube-controller-manager/v1.35.0',
    ip: '10.0.0.10',
  };
  const sched = { user: 'system:kube-scheduler', ua: 'kube-scheduler/v1.35.0', ip: '10.0.0.10' };
  for (let k = 0; k < 30; k++) {
    out.push([
      k * 2000,
      {
        ...cm,
        verb: 'update',
        resource: 'leases',
        apiGroup: 'coordination.k8s.io',
        ns: 'kube-system',
        name: 'kube-controller-manager',
      },
    ]);
    out.push([
      k * 2000 + 300,
      {
        ...sched,
        verb: 'update',
        resource: 'leases',
        apiGroup: 'coordination.k8s.io',
        ns: 'kube-system',
        name: 'kube-scheduler',
      },
    ]);
  }
  out.push([
    15_000,
    {
      ...cm,
      verb: 'update',
      resource: 'endpointslices',
      apiGroup: 'discovery.k8s.io',
      ns: 'shop',
      name: 'web-abcde',
    },
  ]);
  // A rollout every 20 minutes: the ReplicaSet controller replaces the 3 web pods, the scheduler binds them.
  if (m % 20 === 5) {
    const rs = {
      user: 'system:serviceaccount:kube-system:replicaset-controller',
      ua: 'kube-controller-manager/v1.35.0/system:serviceaccount:kube-system:replicaset-controller',
      ip: '10.0.0.10',
    };
    for (let p = 0; p < 3; p++) {
      const name = `web-${m}-${p}`;
      out.push([
        20_000 + p * 1000,
        {
          ...rs,
          verb: 'create',
          resource: 'pods',
          ns: 'shop',
          requestObject: podObject(name, 'shop', 'registry.example.com/shop/web:1.4.2'),
        },
      ]);
      out.push([
        20_500 + p * 1000,
        { ...sched, verb: 'create', resource: 'pods', ns: 'shop', name, sub: 'binding' },
      ]);
      out.push([
        25_000 + p * 1000,
        { ...rs, verb: 'delete', resource: 'pods', ns: 'shop', name: `web-old-${m}-${p}` },
      ]);
    }
  }
  const prom = {
    user: 'system:serviceaccount:monitoring:prometheus',
    ua: 'prometheus/3.1.0',
    ip: '10.244.2.17',
  };
  out.push([5_000, { ...prom, verb: 'list', resource: 'pods' }]);
  out.push([35_000, { ...prom, verb: 'list', resource: 'pods' }]);
  out.push([6_000, { ...prom, verb: 'list', resource: 'endpoints' }]);
  const agent = {
    user: 'system:serviceaccount:vigil:vigil-agent',
    ua: 'vigil-agent/0.1.0',
    ip: '10.244.1.5',
  };
  out.push([
    8_000,
    { ...agent, verb: 'list', resource: 'pods', uri: '/api/v1/pods?fieldSelector=spec.nodeName%3Dnode-1' },
  ]);
  out.push([9_000, { ...agent, verb: 'list', resource: 'events', ns: 'shop' }]);
  const web = { user: 'system:serviceaccount:shop:web', ua: 'web/1.4.2', ip: '10.244.1.9' };
  out.push([12_000, { ...web, verb: 'get', resource: 'configmaps', ns: 'shop', name: 'web-config' }]);
  out.push([42_000, { ...web, verb: 'get', resource: 'configmaps', ns: 'shop', name: 'web-config' }]);
  for (let k = 0; k < 6; k++) {
    out.push([
      k * 10_000 + 50,
      {
        user: 'system:anonymous',
        verb: 'get',
        uri: k % 2 ? '/readyz' : '/livez',
        ua: 'kube-probe/1.35',
        ip: '10.0.0.10',
      },
    ]);
  }
  if (m % 30 === 12) {
    const admin = {
      user: 'kubernetes-admin',
      ua: 'kubectl/v1.35.0 (linux/amd64) kubernetes/8d1a3b2',
      ip: ADMIN_IP,
    };
    out.push([1_000, { ...admin, verb: 'list', resource: 'pods', ns: 'shop' }]);
    out.push([3_000, { ...admin, verb: 'get', resource: 'pods', ns: 'shop', name: 'web-1', sub: 'log' }]);
    out.push([5_000, { ...admin, verb: 'list', resource: 'deployments', apiGroup: 'apps', ns: 'shop' }]);
  }
  return out;
}

/** `minutes` of background traffic from `startMs`, one audit JSON line per request, in time order. */
export function backgroundAuditLines(
  startMs: number,
  minutes: number,
): Array<{ timeMs: number; line: string }> {
  const out: Array<{ timeMs: number; line: string }> = [];
  let n = 0;
  for (let m = 0; m < minutes; m++) {
    for (const [offset, req] of minuteOf(m)) {
      const timeMs = startMs + m * 60_000 + offset;
      n++;
      out.push({ timeMs, line: eventLine(req, timeMs, `bg-${n.toString(16).padStart(8, '0')}`) });
    }
  }
  return out.sort((a, b) => a.timeMs - b.timeMs);
}
