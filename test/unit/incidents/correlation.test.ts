import { describe, expect, it } from 'vitest';
import { Correlator } from '../../../aggregator/correlate/correlator.ts';
import { rankRootCauses } from '../../../aggregator/correlate/root-cause.ts';
import type { Signal } from '../../../common/signal.ts';
import { StaticTopology } from '../../support/static-topology.ts';
import { podSubject, signal, T0 } from './fixtures.ts';

const NODES = Array.from({ length: 12 }, (_, i) => `node-${i + 1}`);

function shop(): {
  topo: StaticTopology;
  api: string[];
  checkout: string[];
  worker: string[];
  frontend: string[];
} {
  const topo = new StaticTopology();
  for (const n of NODES) topo.addNode(n);
  topo.addWorkload({
    namespace: 'shop',
    app: 'db',
    kind: 'StatefulSet',
    replicas: 1,
    nodes: ['node-7'],
    port: 5432,
  });
  const api = topo.addWorkload({ namespace: 'shop', app: 'api', replicas: 12, nodes: NODES, port: 8080 });
  const checkout = topo.addWorkload({
    namespace: 'shop',
    app: 'checkout',
    replicas: 8,
    nodes: NODES.slice(3),
    port: 8081,
  });
  const worker = topo.addWorkload({ namespace: 'shop', app: 'worker', replicas: 10, nodes: NODES.slice(1) });
  const frontend = topo.addWorkload({
    namespace: 'shop',
    app: 'frontend',
    replicas: 4,
    nodes: NODES,
    port: 80,
  });
  return { topo, api, checkout, worker, frontend };
}

function clientErrors(
  topo: StaticTopology,
  app: string,
  pods: string[],
  from: number,
  windows: number,
): Signal[] {
  const out: Signal[] = [];
  for (let w = 0; w < windows; w++) {
    for (const pod of pods) {
      const info = topo.pod('shop', pod);
      out.push(
        signal(
          'log.error_rate_jump',
          podSubject('shop', pod, info?.node ?? '', `Deployment/${app}`),
          from + w * 10,
          {
            severity: 'error',
            lines: [`failed to acquire connection: dial tcp db:5432: connect: connection refused`],
            explanation: `${app} error lines jumped`,
          },
        ),
      );
    }
  }
  return out;
}

function correlate(topo: StaticTopology, signals: Signal[]) {
  let now = T0;
  const c = new Correlator(topo, () => now);
  for (const s of signals.sort((a, b) => a.timeMs - b.timeMs)) {
    now = s.timeMs + 2000;
    c.ingest(s);
  }
  return c;
}

/** The top root cause of the one incident `signals` make on `topo`. */
function top(topo: StaticTopology, signals: Signal[]) {
  const live = correlate(topo, signals)
    .list()
    .filter((i) => !i.resolvedBy?.startsWith('merged'));
  expect(live).toHaveLength(1);
  return rankRootCauses(live[0]!, { topology: topo, changes: [] })[0];
}

/** payments' revision 2 rolled out at T0 + 25 s and crash-looping on two nodes. */
function paymentsRollout(): { topo: StaticTopology; signals: Signal[] } {
  const topo = new StaticTopology();
  const nodes = ['node-1', 'node-2', 'node-3'];
  const pods = topo.addWorkload({
    namespace: 'shop',
    app: 'payments',
    replicas: 2,
    nodes,
    port: 8443,
    revision: 2,
  });
  topo.addWorkload({ namespace: 'shop', app: 'checkout', replicas: 4, nodes, port: 8081 });
  topo.addRevision({
    workload: 'Deployment/shop/payments',
    revision: 1,
    images: ['shop/payments:1.8.3'],
    createdMs: T0 - 86_400_000,
  });
  topo.addRevision({
    workload: 'Deployment/shop/payments',
    revision: 2,
    images: ['shop/payments:2.0.0'],
    createdMs: T0 + 25_000,
  });
  topo.addChange({
    kind: 'rollout',
    object: 'Deployment/shop/payments',
    timeMs: T0 + 25_000,
    description: 'image shop/payments:2.0.0',
  });
  const signals: Signal[] = [];
  for (const [i, pod] of pods.entries()) {
    const subject = podSubject('shop', pod, nodes[i] ?? '', 'Deployment/payments');
    signals.push(
      signal('log.new_template', subject, 29, { lines: ['panic: runtime error: invalid memory address'] }),
    );
    signals.push(signal('pod.restarted', subject, 30));
    signals.push(signal('pod.crash_loop', subject, 45, { severity: 'error' }));
  }
  return { topo, signals };
}

describe('correlation', () => {
  it('turns a db OOM with 30 failing clients on 12 nodes into one incident rooted at the db pod', () => {
    const { topo, api, checkout, worker, frontend } = shop();
    const signals: Signal[] = [
      signal('metric.level_shift', podSubject('shop', 'db-0', 'node-7', 'StatefulSet/db'), 34, {
        explanation: 'container.memory.current_bytes of db-0 rose to 500Mi (limit 512Mi)',
        evidence: { attributes: { metric: 'container.memory.current_bytes' }, values: { sigma: 8 } },
        score: 0.8,
      }),
      signal('pod.oom_killed', podSubject('shop', 'db-0', 'node-7', 'StatefulSet/db'), 40, {
        severity: 'critical',
        score: 1,
        explanation: 'db-0 container postgres OOMKilled (exit 137)',
      }),
      ...clientErrors(topo, 'api', api, 39, 6),
      ...clientErrors(topo, 'checkout', checkout, 41, 6),
      ...clientErrors(topo, 'worker', worker, 42, 6),
      signal('pod.readiness_flapping', podSubject('shop', api[0] ?? '', 'node-1', 'Deployment/api'), 45),
      signal('pod.readiness_flapping', podSubject('shop', api[1] ?? '', 'node-2', 'Deployment/api'), 46),
      ...frontend.map((p, i) =>
        signal('log.error_rate_jump', podSubject('shop', p, NODES[i] ?? '', 'Deployment/frontend'), 44, {
          severity: 'error',
          lines: ['GET /api/orders 503: upstream unavailable: connection refused to api:8080'],
        }),
      ),
    ];
    const c = correlate(topo, signals);
    const open = c.list().filter((i) => i.status !== 'resolved' || !i.resolvedBy?.startsWith('merged'));
    expect(signals.length).toBeGreaterThanOrEqual(180);
    expect(open).toHaveLength(1);
    const incident = open[0];
    if (!incident) throw new Error('no incident');
    expect(incident.signalCount).toBe(signals.length);
    expect(incident.nodes.length).toBe(12);
    // Dedupe: one group per kind+subject, not one per signal.
    expect(incident.groups.length).toBeLessThan(45);
    const ranked = rankRootCauses(incident, { topology: topo, changes: [] });
    expect(ranked[0]).toMatchObject({ kind: 'oom_kill', object: 'Pod/shop/db-0' });
    expect(ranked[0]?.reasons.join(' ')).toMatch(/client workloads name it/);
    expect(1 - open.length / signals.length).toBeGreaterThan(0.95);
  });

  it('ranks a bad rollout as the Deployment whose new revision crash-loops', () => {
    const { topo, signals } = paymentsRollout();
    const c = correlate(topo, signals);
    const incidents = c.list().filter((i) => !i.resolvedBy?.startsWith('merged'));
    expect(incidents).toHaveLength(1);
    const ranked = rankRootCauses(incidents[0] as NonNullable<(typeof incidents)[0]>, {
      topology: topo,
      changes: topo.changes(0),
    });
    expect(ranked[0]).toMatchObject({ kind: 'bad_rollout', object: 'Deployment/shop/payments' });
    expect(ranked[0]?.reasons.join(' ')).toMatch(/rollout .* before the onset/);
  });

  it("joins an audit finding about the rollout's change to the rollout's incident, and only that one", () => {
    const { topo, signals } = paymentsRollout();
    const byUser = (user: string, verb: string, object: string, at: number, source: string) =>
      signal('security.disallowed_k8s_user', { kind: 'user', name: user, node: 'cp-1' }, at, {
        evidence: { attributes: { user, verb, object, source } },
      });
    signals.push(byUser('ci-deployer', 'patch', 'deployments/shop/payments', 25, '10.0.0.9'));
    signals.push(byUser('auditor', 'get', 'deployments/shop/payments', 26, '10.0.0.10')); // a read changes nothing
    signals.push(byUser('intern', 'patch', 'deployments/shop/checkout', 27, '10.0.0.11')); // another workload
    const incidents = correlate(topo, signals)
      .list()
      .filter((i) => !i.resolvedBy?.startsWith('merged'));
    const withUser = (user: string) =>
      incidents.filter((i) => i.groups.some((g) => g.subject.kind === 'user' && g.subject.name === user));
    expect(incidents).toHaveLength(3);
    const rollout = withUser('ci-deployer')[0]!;
    expect(rollout.groups.some((g) => g.kind === 'pod.crash_loop')).toBe(true);
    expect(withUser('auditor')[0]?.groups.every((g) => g.kind.startsWith('security.'))).toBe(true);
    expect(withUser('intern')[0]?.groups.every((g) => g.kind.startsWith('security.'))).toBe(true);
    const ranked = rankRootCauses(rollout, { topology: topo, changes: topo.changes(0) });
    expect(ranked[0]).toMatchObject({ kind: 'bad_rollout', object: 'Deployment/shop/payments' });
  });

  it('names a Service down when every pod behind it fails and no caller said so yet', () => {
    const topo = new StaticTopology();
    topo.addWorkload({
      namespace: 'shop',
      app: 'inventory-db',
      kind: 'StatefulSet',
      replicas: 1,
      nodes: ['node-1'],
      port: 5432,
    });
    topo.setNode('node-1', {});
    const pod = topo.pod('shop', 'inventory-db-0');
    if (pod) pod.ready = false;
    const subject = podSubject('shop', 'inventory-db-0', 'node-1', 'StatefulSet/inventory-db');
    const c = correlate(topo, [
      signal('pod.restarted', subject, 26, { severity: 'warning' }),
      signal('pod.crash_loop', subject, 40, { severity: 'error' }),
    ]);
    const ranked = rankRootCauses(c.list()[0] as NonNullable<ReturnType<Correlator['list']>[0]>, {
      topology: topo,
      changes: [],
    });
    expect(ranked[0]).toMatchObject({ kind: 'dependency_down', object: 'Service/shop/inventory-db' });
    expect(ranked[0]?.reasons.join(' ')).toMatch(
      /all 1 pod\(s\) behind Service shop\/inventory-db are failing/,
    );
  });

  it('does not blame a workload for being created (a first revision is no rollout)', () => {
    const topo = new StaticTopology();
    const nodes = ['node-1', 'node-2'];
    const pods = topo.addWorkload({
      namespace: 'shop',
      app: 'payments',
      replicas: 2,
      nodes,
      port: 8443,
      revision: 1,
    });
    topo.addRevision({
      workload: 'Deployment/shop/payments',
      revision: 1,
      images: ['shop/payments:1.0.0'],
      createdMs: T0,
    });
    topo.addChange({
      kind: 'rollout',
      object: 'Deployment/shop/payments',
      timeMs: T0,
      description: 'revision 1',
    });
    const c = correlate(
      topo,
      pods.map((p, i) =>
        signal('pod.crash_loop', podSubject('shop', p, nodes[i] ?? ''), 20, { severity: 'error' }),
      ),
    );
    const ranked = rankRootCauses(c.list()[0] as NonNullable<ReturnType<Correlator['list']>[0]>, {
      topology: topo,
      changes: topo.changes(0),
    });
    expect(ranked[0]).toMatchObject({ kind: 'crash_loop', object: 'Deployment/shop/payments' });
  });

  it('keeps unrelated faults in separate incidents', () => {
    const { topo } = shop();
    topo.addWorkload({ namespace: 'billing', app: 'ledger', replicas: 1, nodes: ['node-2'], port: 9000 });
    const c = correlate(topo, [
      signal('pod.oom_killed', podSubject('shop', 'db-0', 'node-7'), 10, { severity: 'critical' }),
      signal('pod.crash_loop', podSubject('billing', 'ledger-7f9c0-x0', 'node-2'), 12, { severity: 'error' }),
    ]);
    expect(c.list()).toHaveLength(2);
  });

  it('lets a node-level cause absorb the pod symptoms on that node', () => {
    const { topo, api, worker } = shop();
    const onNode3 = [...api, ...worker].filter((p) => topo.pod('shop', p)?.node === 'node-3');
    const signals = onNode3.map((p) => signal('pod.readiness_flapping', podSubject('shop', p, 'node-3'), 21));
    signals.push(
      signal('node.condition', { kind: 'node', node: 'node-3' }, 22, {
        severity: 'critical',
        explanation: 'node-3 Ready=Unknown: kubelet stopped posting status',
        evidence: { attributes: { condition: 'Ready', status: 'Unknown' } },
      }),
    );
    topo.setNode('node-3', { ready: false, conditions: { Ready: 'Unknown' } });
    const c = correlate(topo, signals);
    const live = c.list().filter((i) => !i.resolvedBy?.startsWith('merged'));
    expect(live).toHaveLength(1);
    const ranked = rankRootCauses(live[0] as NonNullable<(typeof live)[0]>, { topology: topo, changes: [] });
    expect(ranked[0]).toMatchObject({ kind: 'node_not_ready', object: 'Node//node-3' });
  });

  it('ranks the pod whose memory led its node’s above the node, and a node above its one later victim', () => {
    const topo = new StaticTopology();
    topo.addNode('node-5');
    topo.addWorkload({ namespace: 'shop', app: 'db', kind: 'StatefulSet', replicas: 1, nodes: ['node-5'] });
    const db = podSubject('shop', 'db-0', 'node-5', 'StatefulSet/db');
    const nodeMemory = (at: number) =>
      signal('metric.trend', { kind: 'node', node: 'node-5' }, at, {
        explanation: 'node node-5 memory used grew 29.5 %/min',
        evidence: { attributes: { metric: 'node.memory.used_bytes' } },
      });
    const oom = (at: number) => signal('pod.oom_killed', db, at, { severity: 'critical' });
    // The demo: db-0's memory spikes, its node's memory grows with it, db-0 is OOM-killed.
    const dbFirst = [
      signal('metric.spike', { ...db, kind: 'container', container: 'db' }, 0, {
        explanation: 'memory current of shop/db-0/db spiked to 352 MB',
        evidence: { attributes: { metric: 'container.memory.current_bytes' } },
      }),
      nodeMemory(5),
      oom(10),
    ];
    expect(top(topo, dbFirst)).toMatchObject({ kind: 'oom_kill', object: 'Pod/shop/db-0' });
    // Something outside the pods fills the node's memory and db-0 is the victim, later.
    expect(top(topo, [nodeMemory(0), oom(20)])).toMatchObject({
      kind: 'memory_leak',
      object: 'Node//node-5',
    });
  });

  it('blames the node when a workload fails only there, and the workload when it fails on several nodes', () => {
    const topo = new StaticTopology();
    for (const n of ['node-1', 'node-2']) topo.addNode(n);
    // Two cart replicas on node-2, one on node-1; web (no memory limit) beside them.
    const cart = topo.addWorkload({
      namespace: 'shop',
      app: 'cart',
      replicas: 3,
      nodes: ['node-2', 'node-2', 'node-1'],
    });
    topo.addWorkload({ namespace: 'shop', app: 'web', replicas: 2, nodes: ['node-1', 'node-2'] });
    const oom = (pod: string, at: number) =>
      signal('pod.oom_killed', podSubject('shop', pod, topo.pod('shop', pod)!.node, 'Deployment/cart'), at, {
        severity: 'error',
      });
    const onNode2 = top(topo, [oom(cart[0]!, 0), oom(cart[1]!, 14)]);
    expect(onNode2).toMatchObject({ kind: 'memory_leak', object: 'Node//node-2' });
    expect(onNode2?.reasons).toContain(
      '2 replicas of Deployment/shop/cart fail on this node only; 1 on other nodes run fine',
    );
    expect(top(topo, [oom(cart[0]!, 0), oom(cart[2]!, 14)])).toMatchObject({
      kind: 'memory_leak',
      object: 'Deployment/shop/cart',
    });
  });

  it('names a crash-looping workload whose callers fail a dependency down, and a pod OOM-killed into back-off a leak', () => {
    const topo = new StaticTopology();
    const nodes = ['node-1', 'node-2', 'node-3'];
    const inventory = topo.addWorkload({
      namespace: 'shop',
      app: 'inventory',
      replicas: 3,
      nodes,
      port: 8090,
    });
    const orders = topo.addWorkload({ namespace: 'shop', app: 'orders', replicas: 3, nodes, port: 8091 });
    const at = (pod: string) => topo.pod('shop', pod)!.node;
    const down = [
      ...inventory.map((p) =>
        signal('pod.crash_loop', podSubject('shop', p, at(p), 'Deployment/inventory'), 5, {
          severity: 'error',
        }),
      ),
      ...orders.map((p) =>
        signal('log.error_rate_jump', podSubject('shop', p, at(p), 'Deployment/orders'), 8, {
          severity: 'error',
          lines: ['GET /stock/12 failed: dial tcp inventory:8090: connect: connection refused'],
        }),
      ),
    ];
    expect(top(topo, down)).toMatchObject({ kind: 'dependency_down', object: 'Deployment/shop/inventory' });

    const single = new StaticTopology();
    single.addWorkload({
      namespace: 'shop',
      app: 'cache',
      kind: 'StatefulSet',
      replicas: 1,
      nodes: ['node-1'],
    });
    const cache = podSubject('shop', 'cache-0', 'node-1', 'StatefulSet/cache');
    const oom = (s: number) => signal('pod.oom_killed', cache, s, { severity: 'error' });
    // One kill, reported twice: an OOM kill. Killed, then backed off: it runs out of memory again and again.
    expect(top(single, [oom(0), oom(2)])).toMatchObject({ kind: 'oom_kill', object: 'Pod/shop/cache-0' });
    const backOff = signal('pod.crash_loop', cache, 15, { severity: 'error' });
    expect(top(single, [oom(0), oom(2), backOff])).toMatchObject({
      kind: 'memory_leak',
      object: 'Pod/shop/cache-0',
    });
  });

  it('follows an eviction cascade: nodes that took in the evicted pods join, others do not', () => {
    const topo = new StaticTopology();
    const longAgo = T0 - 86_400_000;
    for (const n of ['node-1', 'node-2', 'node-3', 'node-4']) topo.addNode(n);
    for (const [name, node] of [
      ['api-a', 'node-2'],
      ['api-b', 'node-2'],
      ['api-old', 'node-4'],
    ] as const)
      topo.addPod({ namespace: 'shop', name, node, workload: 'Deployment/shop/api', createdMs: longAgo });
    // The evicted pods' replacements, and an unrelated new pod.
    topo.addPod({
      namespace: 'shop',
      name: 'api-c',
      node: 'node-1',
      workload: 'Deployment/shop/api',
      createdMs: T0 + 13_000,
    });
    topo.addPod({
      namespace: 'shop',
      name: 'api-d',
      node: 'node-3',
      workload: 'Deployment/shop/api',
      createdMs: T0 + 18_000,
    });
    topo.addPod({
      namespace: 'shop',
      name: 'web-new',
      node: 'node-4',
      workload: 'Deployment/shop/web',
      createdMs: T0 + 20_000,
    });
    const memory = (node: string, kind: string) =>
      signal(kind, { kind: 'node', node }, 25, { explanation: `node ${node} memory used rose` });
    const c = correlate(topo, [
      signal('node.condition', { kind: 'node', node: 'node-2' }, 10, {
        severity: 'error',
        explanation: 'node node-2: DiskPressure=True',
        evidence: { attributes: { condition: 'DiskPressure', status: 'True' } },
      }),
      signal('pod.evicted', podSubject('shop', 'api-a', 'node-2', 'Deployment/api'), 12),
      signal('pod.evicted', podSubject('shop', 'api-b', 'node-2', 'Deployment/api'), 17),
      memory('node-1', 'metric.spike'),
      memory('node-3', 'metric.trend'),
      memory('node-4', 'metric.spike'), // only an old api pod and a new pod of another workload there
    ]);
    const live = c.list().filter((i) => !i.resolvedBy?.startsWith('merged'));
    expect(live).toHaveLength(2);
    const cascade = live.find((i) => i.nodes.includes('node-2'))!;
    expect(cascade.nodes.sort()).toEqual(['node-1', 'node-2', 'node-3']);
    const ranked = rankRootCauses(cascade, { topology: topo, changes: [] });
    expect(ranked[0]).toMatchObject({ kind: 'disk_fill', object: 'Node//node-2' });
  });

  it('groups a brute force from one source across nodes and ranks the source', () => {
    const topo = new StaticTopology();
    const signals = ['node-1', 'node-2', 'node-3'].map((n, i) =>
      signal('security.ssh_bruteforce', { kind: 'source', name: '203.0.113.77', node: n }, 20 + i, {
        technique: 'T1110',
      }),
    );
    signals.push(
      signal(
        'security.ssh_bruteforce_success',
        { kind: 'source', name: '203.0.113.77', node: 'node-2' },
        30,
        {
          severity: 'critical',
        },
      ),
    );
    const c = correlate(topo, signals);
    expect(c.list()).toHaveLength(1);
    const ranked = rankRootCauses(c.list()[0] as NonNullable<ReturnType<Correlator['list']>[0]>, {
      topology: topo,
      changes: [],
    });
    expect(ranked[0]).toMatchObject({ kind: 'ssh_bruteforce', object: 'Source//203.0.113.77' });
  });

  it('ties an exec and a privileged pod by the same user into one incident ranked by impact', () => {
    const topo = new StaticTopology();
    topo.addWorkload({ namespace: 'shop', app: 'api', replicas: 2, nodes: ['node-1'], port: 8080 });
    const c = correlate(topo, [
      signal(
        'security.attach_exec_pod',
        { kind: 'object', name: 'pods/shop/api-7f9c0-x0/exec', node: 'cp-1' },
        20,
        {
          evidence: { attributes: { user: 'mallory', source: '198.51.100.23' } },
        },
      ),
      signal(
        'security.create_privileged_pod',
        { kind: 'object', name: 'pods/default/node-shell', node: 'cp-1' },
        30,
        {
          evidence: { attributes: { user: 'mallory' } },
        },
      ),
    ]);
    const live = c.list().filter((i) => !i.resolvedBy?.startsWith('merged'));
    expect(live).toHaveLength(1);
    const ranked = rankRootCauses(live[0] as NonNullable<(typeof live)[0]>, { topology: topo, changes: [] });
    expect(ranked[0]).toMatchObject({ kind: 'privileged_pod', object: 'Pod/default/node-shell' });
  });

  it('resolves an incident once its signals stayed quiet, and opens a new one for a later fault', () => {
    const { topo } = shop();
    let now = T0;
    const c = new Correlator(topo, () => now, { quietMs: 60_000 });
    c.ingest(signal('pod.oom_killed', podSubject('shop', 'db-0', 'node-7'), 0, { severity: 'critical' }));
    now = T0 + 30_000;
    expect(c.tick(now)).toHaveLength(0);
    now = T0 + 61_000;
    const resolved = c.tick(now);
    expect(resolved.map((i) => i.resolvedBy)).toEqual(['auto']);
    now = T0 + 62_000;
    const again = c.ingest(
      signal('pod.oom_killed', podSubject('shop', 'db-0', 'node-7'), 62, { severity: 'critical' }),
    );
    expect(again?.opened).toBe(true);
  });

  it('does not open incidents for info signals but attaches them when a related incident opens', () => {
    const { topo } = shop();
    let now = T0;
    const c = new Correlator(topo, () => now);
    expect(
      c.ingest(signal('log.new_template', podSubject('shop', 'db-0', 'node-7'), 1, { severity: 'info' })),
    ).toBeUndefined();
    now = T0 + 5000;
    const r = c.ingest(
      signal('pod.oom_killed', podSubject('shop', 'db-0', 'node-7'), 5, { severity: 'critical' }),
    );
    expect(r?.incident.signalCount).toBe(2);
    expect(r?.incident.firstSignalMs).toBe(T0 + 1000);
  });
});
