// Remediation actions against the simulated cluster through @kubernetes/client-node, compared with what the
// real kubectl does to an identical object in the same cluster.
import { KubeConfig } from '@kubernetes/client-node';
import { afterEach, describe, expect, it } from 'vitest';
import {
  KubeExecutor,
  QUARANTINE_LABEL,
  QUARANTINE_POLICY,
} from '../../../aggregator/remediate/kube-executor.ts';
import { startTestSim, type TestSim, waitFor } from '../sim/support.ts';

const CLUSTER = `
name: remediation-actions
seed: 9
durationSeconds: 600
nodes:
  - { name: cp-1, role: control-plane }
  - { name: node, count: 3 }
namespaces: [shop]
workloads:
  - { name: web-a, namespace: shop, replicas: 3, image: shop/web:1.0.0, port: 8080, startSeconds: 0.5, readinessSeconds: 0.5 }
  - { name: web-b, namespace: shop, replicas: 3, image: shop/web:1.0.0, port: 8080, startSeconds: 0.5, readinessSeconds: 0.5 }
  - { name: guarded, namespace: shop, replicas: 3, image: shop/guarded:1.0.0, startSeconds: 0.5, readinessSeconds: 0.5, pdb: { minAvailable: 3 } }
groundTruth:
  rootCause: { kind: Node, object: Node/node-1 }
  startsAt: 0
`;

let t: TestSim | undefined;
afterEach(async () => {
  await t?.close();
  t = undefined;
});

interface Obj {
  metadata: { name: string; labels?: Record<string, string>; annotations?: Record<string, string> };
  spec: Record<string, unknown> & { template?: unknown; replicas?: number; unschedulable?: boolean };
  status?: { phase?: string };
}

async function json<T>(sim: TestSim, ...args: string[]): Promise<T> {
  const r = await sim.kubectl(...args, '-o', 'json');
  if (r.code !== 0) throw new Error(r.stderr);
  return JSON.parse(r.stdout) as T;
}

function executor(sim: TestSim, opts: ConstructorParameters<typeof KubeExecutor>[1] = {}): KubeExecutor {
  const kc = new KubeConfig();
  kc.loadFromFile(sim.sim.kubeconfigPath);
  return new KubeExecutor(kc, opts);
}

async function rolledOut(sim: TestSim, name: string): Promise<void> {
  const r = await sim.kubectl('rollout', 'status', `deployment/${name}`, '-n', 'shop', '--timeout=90s');
  if (r.code !== 0) throw new Error(`rollout of ${name}: ${r.stderr}`);
}

/** What a rollback decides, with the workload's own name taken out so web-a and web-b compare. */
async function rolloutState(sim: TestSim, name: string) {
  const d = await json<Obj>(sim, 'get', 'deployment', name, '-n', 'shop');
  const rs = (await json<{ items: Obj[] }>(sim, 'get', 'rs', '-n', 'shop', '-l', `app=${name}`)).items;
  // The template hash is a hash over the (differently named) template: equal templates, different hashes.
  const strip = (v: unknown) =>
    JSON.parse(
      JSON.stringify(v ?? null)
        .replaceAll(name, 'WEB')
        .replaceAll(/"pod-template-hash":"[a-z0-9]+"/g, '"pod-template-hash":"HASH"'),
    );
  return {
    template: strip(d.spec.template),
    annotations: strip(d.metadata.annotations),
    replicaSets: rs
      .map((r) => ({
        revision: r.metadata.annotations?.['deployment.kubernetes.io/revision'],
        replicas: r.spec.replicas,
        template: strip(r.spec.template),
      }))
      .sort((a, b) => Number(a.revision) - Number(b.revision)),
  };
}

describe('remediation actions on the simulated cluster', () => {
  it('rolls back exactly as kubectl rollout undo does, and refuses a paused deployment', async () => {
    t = await startTestSim(CLUSTER, 4);
    const sim = t;
    await rolledOut(sim, 'web-a');
    await rolledOut(sim, 'web-b');
    for (const name of ['web-a', 'web-b']) {
      const r = await sim.kubectl(
        'set',
        'image',
        `deployment/${name}`,
        '-n',
        'shop',
        `${name}=shop/web:2.0.0`,
      );
      expect(r.code, r.stderr).toBe(0);
    }
    await rolledOut(sim, 'web-a');
    await rolledOut(sim, 'web-b');

    const undo = await sim.kubectl('rollout', 'undo', 'deployment/web-a', '-n', 'shop');
    expect(undo.code, undo.stderr).toBe(0);
    const ours = await executor(sim).rollback('shop', 'web-b');
    expect(ours).toMatchObject({ ok: true, message: 'deployment shop/web-b rolled back to revision 1' });
    await rolledOut(sim, 'web-a');
    await rolledOut(sim, 'web-b');
    const a = await rolloutState(sim, 'web-a');
    const b = await rolloutState(sim, 'web-b');
    expect(b).toEqual(a);
    expect(b.annotations['deployment.kubernetes.io/revision']).toBe('3');
    expect(JSON.stringify(b.template)).toContain('shop/web:1.0.0');

    expect((await sim.kubectl('rollout', 'pause', 'deployment/web-a', '-n', 'shop')).code).toBe(0);
    expect((await sim.kubectl('rollout', 'pause', 'deployment/web-b', '-n', 'shop')).code).toBe(0);
    const paused = await executor(sim).rollback('shop', 'web-b');
    expect(paused.ok).toBe(false);
    expect(paused.message).toMatch(/cannot rollback a paused deployment/);
    const kubectlPaused = await sim.kubectl('rollout', 'undo', 'deployment/web-a', '-n', 'shop');
    expect(kubectlPaused.code).not.toBe(0);
    expect(kubectlPaused.stderr).toContain(paused.message);
  });

  it('drains through evictions, leaving pods a PodDisruptionBudget protects', async () => {
    t = await startTestSim(CLUSTER, 4);
    const sim = t;
    await rolledOut(sim, 'guarded');
    await rolledOut(sim, 'web-a');
    const pods = (
      await json<{ items: Array<Obj & { spec: { nodeName: string } }> }>(sim, 'get', 'pods', '-n', 'shop')
    ).items;
    const guarded = pods.find((p) => p.metadata.name.startsWith('guarded-'));
    const node = guarded?.spec.nodeName ?? 'node-1';
    const result = await executor(sim, { drainTimeoutMs: 1500, evictRetryMs: 200 }).drain(node);
    expect(result.ok).toBe(false);
    expect(result.message).toMatch(/refused by a PodDisruptionBudget/);
    const n = await json<Obj>(sim, 'get', 'node', node);
    expect(n.spec.unschedulable).toBe(true);
    const still = await sim.kubectl('get', 'pod', guarded?.metadata.name ?? '', '-n', 'shop');
    expect(still.code).toBe(0);
  });

  it('quarantines a pod: out of its service and ReplicaSet, denied by a NetworkPolicy, still running', async () => {
    t = await startTestSim(CLUSTER, 4);
    const sim = t;
    await rolledOut(sim, 'web-a');
    const before = (await json<{ items: Obj[] }>(sim, 'get', 'pods', '-n', 'shop', '-l', 'app=web-a')).items;
    const victim = before[0]?.metadata.name ?? '';
    const result = await executor(sim).quarantine('shop', victim);
    expect(result.ok, result.message).toBe(true);
    const pod = await json<Obj>(sim, 'get', 'pod', victim, '-n', 'shop');
    expect(pod.metadata.labels?.[QUARANTINE_LABEL]).toBe('true');
    expect(pod.metadata.labels?.['app']).toBeUndefined();
    expect(pod.status?.phase).toBe('Running');
    const policy = await json<Obj>(sim, 'get', 'networkpolicy', QUARANTINE_POLICY, '-n', 'shop');
    expect(policy.spec['policyTypes']).toEqual(['Ingress', 'Egress']);
    // The ReplicaSet no longer counts it and starts a replacement.
    await waitFor('a replacement pod', async () => {
      const now = (await json<{ items: Obj[] }>(sim, 'get', 'pods', '-n', 'shop', '-l', 'app=web-a')).items;
      return now.length === 3 && now.every((p) => p.metadata.name !== victim);
    });
  });
});
