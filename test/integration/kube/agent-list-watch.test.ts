// The agent's own list+watch (agent/kube-api) against the simulator's real Kubernetes API: a field-selected
// cache that follows adds, updates and deletes, resumes a watch the server ends, and after a network cut long
// enough for its resourceVersion to expire (410 Gone) relists and reports what changed meanwhile. Changes are
// made through @kubernetes/client-node, an independent client. A lying API server gets a clear warning.

import { rmSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import { connect, createServer as createTcpServer, type Socket, type Server as TcpServer } from 'node:net';
import { CoreV1Api, KubeConfig, type V1Pod } from '@kubernetes/client-node';
import { pino } from 'pino';
import { afterEach, describe, expect, it } from 'vitest';
import { KubeConnection } from '../../../agent/kube-api/connection.ts';
import { ListWatch } from '../../../agent/kube-api/list-watch.ts';
import { type KubeTarget, kubeTargetFromFile } from '../../../agent/kube-api/target.ts';
import { createLogger } from '../../../common/log.ts';
import { startWatchSim, waitFor } from '../sim/support.ts';

const cleanups: Array<() => unknown> = [];
afterEach(async () => {
  for (const c of cleanups.splice(0).reverse()) await c();
});

async function start(opts: { history?: number; bookmarkMs?: number } = {}) {
  const { sim, root } = await startWatchSim(opts);
  cleanups.push(() => rmSync(root, { recursive: true, force: true }));
  cleanups.push(() => sim.stop());
  const kc = new KubeConfig();
  kc.loadFromFile(sim.kubeconfigPath);
  return {
    sim,
    core: kc.makeApiClient(CoreV1Api),
    api: connectAgent(kubeTargetFromFile(sim.kubeconfigPath)),
  };
}

function connectAgent(target: KubeTarget, Connection = KubeConnection): KubeConnection {
  const api = new Connection(target);
  cleanups.push(() => api.close());
  return api;
}

/** Records a ListWatch's callbacks by pod name. */
function podWatch(api: KubeConnection, node: string, logger = createLogger('agent-test', 'silent')) {
  const events: Array<{ type: 'add' | 'update' | 'delete'; name: string; oldRv?: string }> = [];
  const name = (p: V1Pod) => p.metadata?.name ?? '';
  const watch = new ListWatch<V1Pod>({
    api,
    path: '/api/v1/pods',
    fieldSelector: `spec.nodeName=${node}`,
    logger,
    onAdd: (p) => events.push({ type: 'add', name: name(p) }),
    onUpdate: (p, old) =>
      events.push({ type: 'update', name: name(p), oldRv: old.metadata?.resourceVersion ?? '' }),
    onDelete: (p) => events.push({ type: 'delete', name: name(p) }),
  });
  cleanups.push(() => watch.stop());
  return { watch, events };
}

const pinnedPod = (name: string, node: string): V1Pod => ({
  metadata: { name },
  spec: {
    containers: [{ name: 'c', image: 'busybox' }],
    nodeSelector: { 'kubernetes.io/hostname': node },
  },
});

/** A TCP proxy in front of the API server whose connections can be cut and refused, as a network outage. */
async function cuttableProxy(
  target: URL,
): Promise<{ url: string; cut(): Promise<void>; restore(): Promise<void> }> {
  const sockets = new Set<Socket>();
  let server: TcpServer;
  let port = 0;
  const listen = () =>
    new Promise<void>((resolve) => {
      server = createTcpServer((client) => {
        const upstream = connect(Number(target.port), target.hostname);
        for (const s of [client, upstream]) {
          sockets.add(s);
          s.on('close', () => sockets.delete(s));
          s.on('error', () => {});
        }
        client.pipe(upstream).pipe(client);
      });
      server.listen(port, '127.0.0.1', () => {
        port = (server.address() as { port: number }).port;
        resolve();
      });
    });
  await listen();
  cleanups.push(() => new Promise((r) => server.close(r)));
  return {
    url: `http://127.0.0.1:${port}`,
    async cut() {
      await new Promise((r) => {
        server.close(r);
        for (const s of sockets) s.destroy();
      });
    },
    restore: listen,
  };
}

describe("the agent's list+watch on the simulated API", () => {
  it('keeps only its node pods and follows adds, updates and deletes', async () => {
    const { core, api } = await start();
    const { watch, events } = podWatch(api, 'node-1');
    await watch.start();
    expect(watch.synced()).toBe(true);
    const onNode = (await core.listPodForAllNamespaces({ fieldSelector: 'spec.nodeName=node-1' })).items;
    expect(
      watch
        .list()
        .map((p) => p.metadata?.name)
        .sort(),
    ).toEqual(onNode.map((p) => p.metadata?.name).sort());
    expect(onNode.length).toBeGreaterThan(0);

    await core.createNamespacedPod({ namespace: 'shop', body: pinnedPod('pinned', 'node-1') });
    await core.createNamespacedPod({ namespace: 'shop', body: pinnedPod('elsewhere', 'node-2') });
    await waitFor('pinned added', () => events.some((e) => e.type === 'add' && e.name === 'pinned'));
    const before = watch.list().find((p) => p.metadata?.name === 'pinned')!;
    await core.patchNamespacedPod({
      namespace: 'shop',
      name: 'pinned',
      body: [{ op: 'add', path: '/metadata/labels', value: { tier: 'x' } }],
    });
    await waitFor('label seen', () =>
      watch.list().some((p) => p.metadata?.name === 'pinned' && p.metadata.labels?.['tier'] === 'x'),
    );
    expect(events).toContainEqual({
      type: 'update',
      name: 'pinned',
      oldRv: before.metadata?.resourceVersion,
    });
    await core.deleteNamespacedPod({ namespace: 'shop', name: 'pinned' });
    await waitFor('pinned deleted', () => events.some((e) => e.type === 'delete' && e.name === 'pinned'));
    expect(watch.list().some((p) => p.metadata?.name === 'pinned')).toBe(false);
    expect(events.some((e) => e.name === 'elsewhere')).toBe(false);
    expect(events.filter((e) => e.type === 'add' && e.name === 'pinned')).toHaveLength(1);
  });

  it('resumes a watch the server ends without adding anything twice', async () => {
    const { sim, core, api } = await start();
    const { watch, events } = podWatch(api, 'node-1');
    await watch.start();
    // A pod seen through the watch: it is open.
    await core.createNamespacedPod({ namespace: 'shop', body: pinnedPod('before-drop', 'node-1') });
    await waitFor('added before the drop', () => events.some((e) => e.name === 'before-drop'));
    const adds = events.filter((e) => e.type === 'add').length;
    expect(sim.dropWatches()).toBeGreaterThan(0);
    await core.createNamespacedPod({ namespace: 'shop', body: pinnedPod('after-drop', 'node-1') });
    await waitFor('added after the drop', () => events.some((e) => e.name === 'after-drop'));
    expect(events.filter((e) => e.type === 'add').length).toBe(adds + 1);
  });

  it('relists at once, without a warning, when its resourceVersion has expired (410 Gone)', async () => {
    // Bookmarks off so the watch's resourceVersion really falls out of the server's history.
    const { sim, core } = await start({ history: 30, bookmarkMs: 600_000 });
    let lists = 0;
    const api = connectAgent(
      kubeTargetFromFile(sim.kubeconfigPath),
      class extends KubeConnection {
        override get<T>(path: string, query?: Record<string, string | undefined>): Promise<T> {
          lists++;
          return super.get<T>(path, query);
        }
      },
    );
    const warnings: string[] = [];
    const logger = pino({ level: 'warn' }, { write: (s: string) => warnings.push(s) });
    const { watch, events } = podWatch(api, 'node-1', logger);
    await watch.start();
    await core.createNamespacedPod({ namespace: 'shop', body: pinnedPod('seen-live', 'node-1') });
    await waitFor('the watch is open', () => events.some((e) => e.name === 'seen-live'));
    for (let i = 0; i < 40; i++)
      await core.createNamespacedConfigMap({ namespace: 'shop', body: { metadata: { name: `churn-${i}` } } });
    expect(sim.dropWatches()).toBeGreaterThan(0);
    await waitFor('a relist', () => lists >= 2);
    await core.createNamespacedPod({ namespace: 'shop', body: pinnedPod('after-relist', 'node-1') });
    await waitFor('watching again', () => events.some((e) => e.name === 'after-relist'));
    expect(warnings).toEqual([]);
    // The relist reported no pod as new that was already known.
    expect(events.filter((e) => e.name === 'seen-live' && e.type === 'add')).toHaveLength(1);
  });

  it('after a network cut past its resourceVersion, relists and reports what changed meanwhile', async () => {
    // Bookmarks off so the watch's resourceVersion really falls out of the server's history.
    const { sim, core } = await start({ history: 30, bookmarkMs: 600_000 });
    await core.createNamespacedPod({ namespace: 'shop', body: pinnedPod('doomed', 'node-1') });
    const proxy = await cuttableProxy(new URL(sim.url));
    const api = connectAgent({ ...kubeTargetFromFile(sim.kubeconfigPath), server: proxy.url });
    const { watch, events } = podWatch(api, 'node-1');
    await watch.start();
    await waitFor('doomed listed', () => watch.list().some((p) => p.metadata?.name === 'doomed'));

    await proxy.cut();
    await core.deleteNamespacedPod({ namespace: 'shop', name: 'doomed' });
    await core.createNamespacedPod({ namespace: 'shop', body: pinnedPod('born', 'node-1') });
    for (let i = 0; i < 40; i++)
      await core.createNamespacedConfigMap({ namespace: 'shop', body: { metadata: { name: `churn-${i}` } } });
    await proxy.restore();

    await waitFor(
      'the deletion and the new pod reported after the relist',
      () =>
        events.some((e) => e.type === 'delete' && e.name === 'doomed') &&
        events.some((e) => e.name === 'born'),
      40_000,
    );
    const names = watch.list().map((p) => p.metadata?.name);
    expect(names).toContain('born');
    expect(names).not.toContain('doomed');
  });

  it('warns clearly when the API server sends a watch line that is not JSON, and keeps its cache', async () => {
    const pod = { metadata: { name: 'p', namespace: 'ns', resourceVersion: '5' } };
    const server: Server = createServer((req, res) => {
      if (new URL(req.url ?? '/', 'http://x').searchParams.get('watch')) {
        res.writeHead(200, { 'content-type': 'application/json' });
        res.end('{"type":"ADDED","object":{"metadata"\n\u0000\u0001junk\n');
      } else {
        res.writeHead(200, { 'content-type': 'application/json' });
        res.end(JSON.stringify({ items: [pod], metadata: { resourceVersion: '5' } }));
      }
    });
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
    cleanups.push(() => new Promise((r) => server.close(r)));
    const lines: Array<{ msg: string; err?: { message: string } }> = [];
    const logger = pino({ level: 'warn' }, { write: (s: string) => lines.push(JSON.parse(s)) });
    const api = connectAgent({
      server: `http://127.0.0.1:${(server.address() as { port: number }).port}`,
      insecure: false,
    });
    const { watch } = podWatch(api, 'n', logger);
    await watch.start();
    await waitFor('a warning', () => lines.length > 0);
    expect(lines[0]!.msg).toBe('Kubernetes watch failed; relisting after a pause');
    expect(lines[0]!.err?.message).toMatch(/watch of \/api\/v1\/pods sent a line that is not JSON/);
    expect(watch.list().map((p) => p.metadata?.name)).toEqual(['p']);
  });
});
