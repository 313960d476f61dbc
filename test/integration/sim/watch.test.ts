// Watch semantics through the real @kubernetes/client-node: resume from a resourceVersion, 410 Gone for
// a version the server no longer holds, bookmarks, and an informer that recovers from both.

import { rmSync } from 'node:fs';
import {
  CoreV1Api,
  KubeConfig,
  ListWatch,
  makeInformer,
  type V1ConfigMap,
  type V1Pod,
  type V1Service,
  Watch,
} from '@kubernetes/client-node';
import { afterEach, describe, expect, it } from 'vitest';
import type { Simulator } from '../../../sim/simulator.ts';
import { startWatchSim, waitFor } from './support.ts';

let sim: Simulator | undefined;
let root = '';
const stops: Array<() => void> = [];

afterEach(async () => {
  for (const s of stops.splice(0)) s();
  await sim?.stop();
  sim = undefined;
  if (root) rmSync(root, { recursive: true, force: true });
});

async function start(
  opts: { history?: number; bookmarkMs?: number } = {},
): Promise<{ kc: KubeConfig; core: CoreV1Api }> {
  const started = await startWatchSim(opts);
  ({ sim, root } = started);
  const kc = new KubeConfig();
  kc.loadFromFile(started.sim.kubeconfigPath);
  return { kc, core: kc.makeApiClient(CoreV1Api) };
}

const configMap = (name: string): V1ConfigMap => ({ metadata: { name }, data: { k: name } });

interface Seen {
  type: string;
  name?: string;
  rv?: string;
  code?: number;
}

function collect(
  kc: KubeConfig,
  path: string,
  params: Record<string, string | number | boolean | undefined>,
): { seen: Seen[]; ended: Promise<unknown> } {
  const seen: Seen[] = [];
  let endedResolve: (v: unknown) => void = () => {};
  const ended = new Promise((r) => {
    endedResolve = r;
  });
  void new Watch(kc)
    .watch(
      path,
      params,
      (type, obj: { metadata?: { name?: string; resourceVersion?: string }; code?: number }) => {
        const s: Seen = { type };
        if (obj.metadata?.name) s.name = obj.metadata.name;
        if (obj.metadata?.resourceVersion) s.rv = obj.metadata.resourceVersion;
        if (obj.code !== undefined) s.code = obj.code;
        seen.push(s);
      },
      (err) => endedResolve(err ?? 'done'),
    )
    .then((controller) => stops.push(() => controller.abort()));
  return { seen, ended };
}

describe('watch semantics through @kubernetes/client-node', () => {
  it('resumes from a resourceVersion: only changes after it arrive, in order', async () => {
    const { kc, core } = await start();
    await core.createNamespacedConfigMap({ namespace: 'shop', body: configMap('before') });
    const list = await core.listNamespacedConfigMap({ namespace: 'shop' });
    const rv = list.metadata?.resourceVersion ?? '';
    expect(Number(rv)).toBeGreaterThan(0);
    await core.createNamespacedConfigMap({ namespace: 'shop', body: configMap('after-1') });
    // client-node's default patch type is JSON patch.
    await core.patchNamespacedConfigMap({
      namespace: 'shop',
      name: 'after-1',
      body: [{ op: 'replace', path: '/data/k', value: 'changed' }],
    });
    await core.deleteNamespacedConfigMap({ namespace: 'shop', name: 'before' });
    const { seen } = collect(kc, '/api/v1/namespaces/shop/configmaps', { resourceVersion: rv });
    await waitFor('three events', () => seen.filter((s) => s.type !== 'BOOKMARK').length >= 3);
    const events = seen.filter((s) => s.type !== 'BOOKMARK');
    expect(events.map((s) => `${s.type} ${s.name}`)).toEqual([
      'ADDED after-1',
      'MODIFIED after-1',
      'DELETED before',
    ]);
    const rvs = events.map((s) => Number(s.rv));
    expect([...rvs].sort((a, b) => a - b)).toEqual(rvs);
    expect(rvs[0]).toBeGreaterThan(Number(rv));
  });

  it('answers a resourceVersion older than its history with an ERROR event carrying 410 Gone', async () => {
    const { kc, core } = await start({ history: 20 });
    const old = (await core.listNamespacedConfigMap({ namespace: 'shop' })).metadata?.resourceVersion ?? '';
    for (let i = 0; i < 30; i++)
      await core.createNamespacedConfigMap({ namespace: 'shop', body: configMap(`cm-${i}`) });
    const { seen, ended } = collect(kc, '/api/v1/namespaces/shop/configmaps', { resourceVersion: old });
    await ended;
    expect(seen).toEqual([{ type: 'ERROR', code: 410 }]);
  });

  it('sends bookmarks carrying the current resourceVersion when asked to', async () => {
    const { kc, core } = await start({ bookmarkMs: 200 });
    const rv = (await core.listNamespacedConfigMap({ namespace: 'shop' })).metadata?.resourceVersion ?? '';
    const { seen } = collect(kc, '/api/v1/namespaces/shop/configmaps', {
      resourceVersion: rv,
      allowWatchBookmarks: true,
    });
    const bookmark = await waitFor('a bookmark', () => seen.find((s) => s.type === 'BOOKMARK'));
    expect(Number(bookmark.rv)).toBeGreaterThanOrEqual(Number(rv));
    const plain = collect(kc, '/api/v1/namespaces/shop/configmaps', { resourceVersion: rv });
    await core.createNamespacedConfigMap({ namespace: 'shop', body: configMap('x') });
    await waitFor('the added event', () => plain.seen.some((s) => s.type === 'ADDED'));
    expect(plain.seen.some((s) => s.type === 'BOOKMARK')).toBe(false);
  });

  it('turns a pod entering or leaving a field-selected watch into ADDED and DELETED', async () => {
    const { kc, core } = await start();
    const rv = (await core.listPodForAllNamespaces({})).metadata?.resourceVersion ?? '';
    const { seen } = collect(kc, '/api/v1/pods', {
      resourceVersion: rv,
      fieldSelector: 'spec.nodeName=node-1',
    });
    await core.createNamespacedPod({
      namespace: 'shop',
      body: {
        metadata: { name: 'pinned' },
        spec: {
          containers: [{ name: 'c', image: 'busybox' }],
          nodeSelector: { 'kubernetes.io/hostname': 'node-1' },
        },
      },
    });
    // Created unbound (no ADDED on the node-1 watch), then bound by the scheduler (ADDED), then deleted.
    await waitFor('pinned pod added', () => seen.some((s) => s.type === 'ADDED' && s.name === 'pinned'));
    await core.deleteNamespacedPod({ namespace: 'shop', name: 'pinned' });
    await waitFor('pinned pod deleted', () => seen.some((s) => s.type === 'DELETED' && s.name === 'pinned'));
    expect(seen.filter((s) => s.name === 'pinned')[0]?.type).toBe('ADDED');
  });

  it('keeps an informer current across a dropped watch whose resourceVersion has expired (410 → relist)', async () => {
    // Bookmarks off (long interval) so the informer's resourceVersion really falls out of the history.
    const { kc, core } = await start({ history: 30, bookmarkMs: 600_000 });
    let lists = 0;
    const informer = makeInformer<V1Service>(kc, '/api/v1/services', () => {
      lists++;
      return core.listServiceForAllNamespaces({});
    });
    const names = new Set<string>();
    informer.on('add', (s) => names.add(s.metadata?.name ?? ''));
    informer.on('delete', (s) => names.delete(s.metadata?.name ?? ''));
    await informer.start();
    stops.push(() => void informer.stop());
    await waitFor('initial services', () => names.has('web'));
    // Churn another resource until the services watch position is compacted away, then drop watches.
    for (let i = 0; i < 40; i++)
      await core.createNamespacedConfigMap({ namespace: 'shop', body: configMap(`churn-${i}`) });
    expect(sim?.dropWatches()).toBeGreaterThan(0);
    await core.createNamespacedService({
      namespace: 'shop',
      body: { metadata: { name: 'late' }, spec: { ports: [{ port: 81 }] } },
    });
    await waitFor(
      'the informer relisted and saw the new service',
      () => names.has('late') && lists >= 2,
      20_000,
    );
    expect(lists).toBeGreaterThanOrEqual(2);
    // makeInformer has no field selector; ListWatch (what it wraps) does, as the agent's node watch needs.
    const pods = new ListWatch<V1Pod>(
      '/api/v1/pods',
      new Watch(kc),
      () => core.listPodForAllNamespaces({ fieldSelector: 'spec.nodeName=node-1' }),
      false,
      undefined,
      'spec.nodeName=node-1',
    );
    await pods.start();
    stops.push(() => void pods.stop());
    await waitFor('node-1 pods in the cache', () => pods.list().length > 0);
    expect(pods.list().every((p: V1Pod) => p.spec?.nodeName === 'node-1')).toBe(true);
  });
});
