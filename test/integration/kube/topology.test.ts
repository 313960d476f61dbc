// The aggregator's topology from real client-node informers against the simulator's Kubernetes API.
import { AppsV1Api, CoreV1Api, KubeConfig } from '@kubernetes/client-node';
import { afterEach, describe, expect, it } from 'vitest';
import { KubeTopology } from '../../../aggregator/state/kube-topology.ts';
import { writeKubeconfig } from '../../../sim/api/kubeconfig.ts';
import { startApiServer } from '../../../sim/api/server.ts';
import { Store } from '../../../sim/api/store.ts';
import { createRandom } from '../../../sim/random.ts';
import { startSimulator } from '../../../sim/simulator.ts';
import { quietLogger, tempDir } from '../../support/in-process.ts';
import { eventually } from '../../support/processes.ts';

const running: Array<{ stop(): Promise<void> } | { close(): Promise<void> }> = [];
afterEach(async () => {
  for (const r of running.splice(0).reverse()) await ('stop' in r ? r.stop() : r.close());
});

function kubeConfig(path: string): KubeConfig {
  const kc = new KubeConfig();
  kc.loadFromFile(path);
  return kc;
}

describe('aggregator topology', () => {
  it('maps services to pods to nodes and workloads, and resolves hosts as clients name them', async () => {
    const sim = await startSimulator({
      scenario: 'default',
      root: tempDir('sim'),
      speed: 2,
      logger: quietLogger,
    });
    running.push(sim);
    const topo = new KubeTopology(kubeConfig(sim.kubeconfigPath), quietLogger);
    running.push(topo);
    await topo.start();
    const db = await eventually(
      () => (topo.pod('shop', 'db-0')?.node ? topo.pod('shop', 'db-0') : undefined),
      30_000,
      'db-0 placed',
    );
    expect(db.workload).toBe('StatefulSet/shop/db');
    // Its creation time, as the API server stamped it (whole seconds), for the eviction-cascade anchor.
    expect(db.createdMs).toBeGreaterThan(Date.now() - 120_000);
    expect(db.createdMs! % 1000).toBe(0);
    expect(topo.nodes().map((n) => n.name)).toEqual(expect.arrayContaining(sim.nodes));
    expect(topo.serviceByHost('db:5432', 'shop')?.name).toBe('db');
    expect(topo.serviceByHost('db.shop.svc.cluster.local', 'default')?.namespace).toBe('shop');
    expect(topo.podsForService('shop', 'db').map((p) => p.name)).toEqual(['db-0']);
    expect(topo.servicesForPod('shop', 'db-0').map((s) => s.name)).toEqual(['db']);
    const api = await eventually(
      () => topo.podsOnNode(db.node).find((p) => p.name.startsWith('api-')) ?? topo.services().length > 0,
      10_000,
    );
    expect(api).toBeTruthy();
    const apiPod = topo.podsForService('shop', 'api')[0]!;
    expect(apiPod.workload).toBe('Deployment/shop/api');
    expect(apiPod.revision).toBe(1);
  });

  it('records a rollout with its revision history when a deployment changes its image', async () => {
    const sim = await startSimulator({
      scenario: 'bad-rollout',
      root: tempDir('sim'),
      speed: 2,
      logger: quietLogger,
    });
    running.push(sim);
    const topo = new KubeTopology(kubeConfig(sim.kubeconfigPath), quietLogger);
    running.push(topo);
    await topo.start();
    await eventually(() => topo.synced(), 20_000, 'informers synced');
    const since = Date.now();
    const apps = kubeConfig(sim.kubeconfigPath).makeApiClient(AppsV1Api);
    const deployments = (await apps.listNamespacedDeployment({ namespace: 'shop' })).items;
    const target = deployments[0]!;
    const name = target.metadata!.name!;
    const image = `${target.spec!.template.spec!.containers[0]!.image}-next`;
    await apps.patchNamespacedDeployment({
      name,
      namespace: 'shop',
      body: [{ op: 'replace', path: '/spec/template/spec/containers/0/image', value: image }],
    });
    const rollout = await eventually(
      () => topo.changes(since).find((c) => c.kind === 'rollout' && c.object === `Deployment/shop/${name}`),
      20_000,
      'rollout recorded',
    );
    expect(rollout.description).toContain(image);
    const history = topo.revisions(`Deployment/shop/${name}`);
    expect(history.length).toBeGreaterThanOrEqual(2);
    expect(history.at(-1)!.images).toEqual([image]);
  });

  it('recovers from dropped watches and 410 Gone without a restart', async () => {
    const store = new Store({ random: createRandom(1), historySize: 20 });
    const api = await startApiServer({ store, logger: quietLogger });
    running.push(api);
    const path = writeKubeconfig({ server: api.url, path: `${tempDir('kc')}/kubeconfig` });
    const kc = kubeConfig(path);
    const core = kc.makeApiClient(CoreV1Api);
    await core.createNamespace({ body: { metadata: { name: 'team' } } });
    const topo = new KubeTopology(kc, quietLogger);
    running.push(topo);
    await topo.start();
    await eventually(() => topo.synced(), 10_000, 'synced');
    const svc = (name: string) =>
      core.createNamespacedService({
        namespace: 'team',
        body: { metadata: { name }, spec: { selector: { app: name }, ports: [{ port: 80 }] } },
      });
    await svc('before');
    await eventually(() => topo.serviceByHost('before', 'team'), 10_000, 'first service seen');

    // Drop every watch and, before the informers come back, push the history past their resourceVersion.
    api.dropWatches();
    for (let i = 0; i < 40; i++)
      await core.createNamespacedConfigMap({ namespace: 'team', body: { metadata: { name: `noise-${i}` } } });
    await svc('after');
    await eventually(
      () => topo.serviceByHost('after', 'team'),
      40_000,
      'service created after the drop seen',
    );
    expect(
      topo
        .services()
        .map((s) => s.name)
        .sort(),
    ).toEqual(['after', 'before']);
  });
  it('keeps pods by node through scheduling, deletion and a relist, and finds a workload’s unscheduled pods', async () => {
    const store = new Store({ random: createRandom(1), historySize: 20 });
    const api = await startApiServer({ store, logger: quietLogger });
    running.push(api);
    const kc = kubeConfig(writeKubeconfig({ server: api.url, path: `${tempDir('kc')}/kubeconfig` }));
    const core = kc.makeApiClient(CoreV1Api);
    const apps = kc.makeApiClient(AppsV1Api);
    const namespace = 'team';
    await core.createNamespace({ body: { metadata: { name: namespace } } });
    const owner = (kind: string, name: string) => [
      { apiVersion: 'apps/v1', kind, name, uid: `${name}-uid`, controller: true },
    ];
    for (const [rs, deployment] of [
      ['api-7f9c', 'api'],
      ['web-5d8b', 'web'],
    ] as const)
      await apps.createNamespacedReplicaSet({
        namespace,
        body: {
          metadata: { name: rs, ownerReferences: owner('Deployment', deployment) },
          spec: {
            selector: { matchLabels: { app: deployment } },
            template: { metadata: { labels: { app: deployment } } },
          },
        },
      });
    const pod = (name: string, ownedBy: ReturnType<typeof owner>, nodeName?: string) =>
      core.createNamespacedPod({
        namespace,
        body: {
          metadata: { name, ownerReferences: ownedBy },
          spec: { ...(nodeName ? { nodeName } : {}), containers: [{ name: 'c', image: 'busybox' }] },
        },
      });
    await pod('api-1', owner('ReplicaSet', 'api-7f9c'), 'n1');
    await pod('api-2', owner('ReplicaSet', 'api-7f9c')); // not scheduled yet
    await pod('web-1', owner('ReplicaSet', 'web-5d8b'), 'n1');
    await pod('db-0', owner('StatefulSet', 'db'), 'n2');
    const topo = new KubeTopology(kc, quietLogger);
    running.push(topo);
    await topo.start();
    await eventually(() => topo.synced() && topo.pods().length === 4, 10_000, 'pods listed');
    const names = (pods: Array<{ name: string }>) => pods.map((p) => p.name).sort();
    expect(names(topo.podsOnNode('n1'))).toEqual(['api-1', 'web-1']);
    expect(names(topo.podsOfWorkload('Deployment/team/api'))).toEqual(['api-1', 'api-2']);
    expect(names(topo.podsOfWorkload('StatefulSet/team/db'))).toEqual(['db-0']);
    expect(topo.podsOfWorkload('Deployment/other/api')).toEqual([]);

    // Scheduled: the pod joins its node.
    const pending = await core.readNamespacedPod({ name: 'api-2', namespace });
    await core.replaceNamespacedPod({
      name: 'api-2',
      namespace,
      body: { ...pending, spec: { ...pending.spec!, nodeName: 'n2' } },
    });
    await eventually(() => topo.podsOnNode('n2').length === 2, 10_000, 'api-2 scheduled on n2');
    expect(names(topo.podsOnNode('n2'))).toEqual(['api-2', 'db-0']);
    await core.deleteNamespacedPod({ name: 'api-1', namespace });
    await eventually(() => topo.podsOnNode('n1').length === 1, 10_000, 'api-1 gone from n1');

    // A pod deleted while the watches were down and the history moved past them: the relist drops it.
    api.dropWatches();
    await core.deleteNamespacedPod({ name: 'web-1', namespace });
    for (let i = 0; i < 40; i++)
      await core.createNamespacedConfigMap({ namespace, body: { metadata: { name: `noise-${i}` } } });
    await eventually(() => topo.podsOnNode('n1').length === 0, 40_000, 'web-1 dropped by the relist');
    expect(names(topo.pods())).toEqual(['api-2', 'db-0']);
  });
});
