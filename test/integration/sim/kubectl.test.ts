// Fidelity against a client no one here wrote: the real kubectl v1.35 drives the simulator and the
// cluster must change the way a real one would.
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { startTestSim, type TestSim, waitFor } from './support.ts';

interface PodJson {
  metadata: {
    name: string;
    namespace: string;
    uid: string;
    labels?: Record<string, string>;
    ownerReferences?: Array<{ kind: string }>;
  };
  spec: { nodeName?: string; containers: Array<{ image: string }> };
  status: { phase?: string; conditions?: Array<{ type: string; status: string }> };
}

let t: TestSim | undefined;
afterEach(async () => {
  await t?.close();
  t = undefined;
});

async function json<T>(sim: TestSim, ...args: string[]): Promise<T> {
  const r = await sim.kubectl(...args, '-o', 'json');
  if (r.code !== 0) throw new Error(`kubectl ${args.join(' ')} failed: ${r.stderr}`);
  return JSON.parse(r.stdout) as T;
}

async function pods(sim: TestSim, selector: string): Promise<PodJson[]> {
  return (await json<{ items: PodJson[] }>(sim, 'get', 'pods', '-A', '-l', selector)).items;
}

const ready = (p: PodJson): boolean =>
  (p.status.conditions ?? []).some((c) => c.type === 'Ready' && c.status === 'True');

async function allReady(sim: TestSim, selector: string, count: number): Promise<PodJson[] | undefined> {
  const ps = await pods(sim, selector);
  return ps.length === count && ps.every(ready) ? ps : undefined;
}

describe('kubectl against the simulator', () => {
  it('lists pods of all namespaces wide, with the node and pod IP columns', async () => {
    t = await startTestSim();
    const sim = t;
    await waitFor('web pods ready', () => allReady(sim, 'app=web', 3));
    const r = await sim.kubectl('get', 'pods', '-A', '-o', 'wide');
    expect(r.code).toBe(0);
    const [header, ...rows] = r.stdout.trim().split('\n');
    expect(header).toMatch(
      /^NAMESPACE\s+NAME\s+READY\s+STATUS\s+RESTARTS\s+AGE\s+IP\s+NODE\s+NOMINATED NODE\s+READINESS GATES$/,
    );
    const web = rows.filter((l) => l.includes(' web-'));
    expect(web).toHaveLength(3);
    for (const line of web)
      expect(line).toMatch(/^shop\s+web-\S+\s+1\/1\s+Running\s+0\s+\S+\s+10\.244\.\d+\.\d+\s+node-\d/);
    expect(rows.some((l) => l.startsWith('kube-system') && l.includes('agent-'))).toBe(true);
  });

  it('shows the scheduler and kubelet events for a pod', async () => {
    t = await startTestSim();
    const sim = t;
    const [pod] = await waitFor('web pods ready', () => allReady(sim, 'app=web', 3));
    const r = await sim.kubectl(
      'get',
      'events',
      '-n',
      'shop',
      '--field-selector',
      `involvedObject.name=${pod?.metadata.name}`,
    );
    expect(r.code).toBe(0);
    expect(r.stdout).toMatch(
      /Normal\s+Scheduled\s+pod\/web-\S+\s+Successfully assigned shop\/web-\S+ to node-\d/,
    );
    expect(r.stdout).toMatch(/Normal\s+Pulling\s+pod\/web-\S+\s+Pulling image "shop\/web:1.0.0"/);
    expect(r.stdout).toMatch(/Normal\s+Started\s+pod\/web-\S+\s+Started container web/);
  });

  it('cordons a node so that new pods are no longer scheduled there', async () => {
    t = await startTestSim();
    const sim = t;
    await waitFor('web pods ready', () => allReady(sim, 'app=web', 3));
    const r = await sim.kubectl('cordon', 'node-1');
    expect(r.stdout.trim()).toBe('node/node-1 cordoned');
    const node = await json<{ spec: { unschedulable?: boolean } }>(sim, 'get', 'node', 'node-1');
    expect(node.spec.unschedulable).toBe(true);
    expect((await sim.kubectl('get', 'node', 'node-1')).stdout).toMatch(/node-1\s+Ready,SchedulingDisabled/);
    const before = new Set((await pods(sim, 'app=web')).map((p) => p.metadata.uid));
    expect((await sim.kubectl('scale', 'deployment/web', '-n', 'shop', '--replicas=9')).code).toBe(0);
    const scaled = await waitFor('9 web pods ready', () => allReady(sim, 'app=web', 9));
    const newOnCordoned = scaled.filter((p) => p.spec.nodeName === 'node-1' && !before.has(p.metadata.uid));
    expect(newOnCordoned).toHaveLength(0);
    expect(scaled.filter((p) => !before.has(p.metadata.uid))).toHaveLength(6);
  });

  it('scales a deployment through the scale subresource and reports the new replica count', async () => {
    t = await startTestSim();
    const sim = t;
    await waitFor('web pods ready', () => allReady(sim, 'app=web', 3));
    const r = await sim.kubectl('scale', 'deployment/web', '-n', 'shop', '--replicas=5');
    expect(r.stdout.trim()).toBe('deployment.apps/web scaled');
    await waitFor('5 web pods ready', () => allReady(sim, 'app=web', 5));
    const d = await json<{
      spec: { replicas: number };
      status: { readyReplicas: number; availableReplicas: number };
    }>(sim, 'get', 'deployment', 'web', '-n', 'shop');
    expect(d.spec.replicas).toBe(5);
    await waitFor('status caught up', async () => {
      const s = await json<{ status: { readyReplicas?: number } }>(
        sim,
        'get',
        'deployment',
        'web',
        '-n',
        'shop',
      );
      return s.status.readyReplicas === 5;
    });
    await sim.kubectl('scale', 'deployment/web', '-n', 'shop', '--replicas=1');
    await waitFor('1 web pod', () => allReady(sim, 'app=web', 1));
  });

  it('restarts a rollout into a new ReplicaSet and rolls it back to the previous revision', async () => {
    t = await startTestSim();
    const sim = t;
    await waitFor('web pods ready', () => allReady(sim, 'app=web', 3));
    const restart = await sim.kubectl('rollout', 'restart', 'deployment/web', '-n', 'shop');
    expect(restart.stdout.trim()).toBe('deployment.apps/web restarted');
    const status = await sim.kubectl('rollout', 'status', 'deployment/web', '-n', 'shop', '--timeout=60s');
    expect(status.code).toBe(0);
    expect(status.stdout).toContain('deployment "web" successfully rolled out');

    type Rs = {
      metadata: { name: string; annotations: Record<string, string> };
      spec: { replicas: number; template: { metadata: { annotations?: Record<string, string> } } };
    };
    const rsList = (await json<{ items: Rs[] }>(sim, 'get', 'rs', '-n', 'shop', '-l', 'app=web')).items;
    expect(rsList).toHaveLength(2);
    const byRevision = (rev: string) =>
      rsList.find((rs) => rs.metadata.annotations['deployment.kubernetes.io/revision'] === rev);
    const first = byRevision('1');
    const second = byRevision('2');
    expect(second?.spec.template.metadata.annotations?.['kubectl.kubernetes.io/restartedAt']).toBeDefined();
    expect(second?.spec.replicas).toBe(3);
    expect(first?.spec.replicas).toBe(0);

    const undo = await sim.kubectl('rollout', 'undo', 'deployment/web', '-n', 'shop');
    expect(undo.stdout.trim()).toBe('deployment.apps/web rolled back');
    expect(
      (await sim.kubectl('rollout', 'status', 'deployment/web', '-n', 'shop', '--timeout=60s')).code,
    ).toBe(0);
    type Deploy = {
      metadata: { annotations: Record<string, string> };
      spec: { template: { metadata: { annotations?: Record<string, string> } } };
    };
    const d = await json<Deploy>(sim, 'get', 'deployment', 'web', '-n', 'shop');
    // The template is revision 1's again, and that ReplicaSet got the next revision number (3).
    expect(d.spec.template.metadata.annotations?.['kubectl.kubernetes.io/restartedAt']).toBeUndefined();
    expect(d.metadata.annotations['deployment.kubernetes.io/revision']).toBe('3');
    const after = (await json<{ items: Rs[] }>(sim, 'get', 'rs', '-n', 'shop', '-l', 'app=web')).items;
    const reused = after.find((rs) => rs.metadata.name === first?.metadata.name);
    expect(reused?.metadata.annotations['deployment.kubernetes.io/revision']).toBe('3');
    expect(reused?.spec.replicas).toBe(3);
    const history = await sim.kubectl('rollout', 'history', 'deployment/web', '-n', 'shop');
    expect(history.stdout).toMatch(/REVISION\s+CHANGE-CAUSE\s+2\s+<none>\s+3\s+<none>/);
  });

  it('deletes a pod and its ReplicaSet replaces it', async () => {
    t = await startTestSim();
    const sim = t;
    const [victim] = await waitFor('web pods ready', () => allReady(sim, 'app=web', 3));
    const name = victim?.metadata.name ?? '';
    const r = await sim.kubectl('delete', 'pod', name, '-n', 'shop');
    expect(r.code).toBe(0);
    expect(r.stdout).toContain(`pod "${name}" deleted`);
    expect((await sim.kubectl('get', 'pod', name, '-n', 'shop')).stderr).toContain(
      `pods "${name}" not found`,
    );
    const replaced = await waitFor('3 web pods again', () => allReady(sim, 'app=web', 3));
    expect(replaced.map((p) => p.metadata.name)).not.toContain(name);
  });

  it('drains a node: evicts its pods, which are recreated on other nodes, and leaves daemon pods', async () => {
    t = await startTestSim();
    const sim = t;
    await waitFor('web pods ready', () => allReady(sim, 'app=web', 3));
    await waitFor('guarded pods ready', () => allReady(sim, 'app=guarded', 2));
    // Free the guarded pods from node-2 first so the drain below does not hit their budget.
    const target = 'node-2';
    await sim.kubectl('scale', 'deployment/guarded', '-n', 'shop', '--replicas=0');
    await waitFor('guarded gone', async () => (await pods(sim, 'app=guarded')).length === 0);
    const onTarget = (await pods(sim, 'app=web')).filter((p) => p.spec.nodeName === target);
    const r = await sim.kubectl(
      'drain',
      target,
      '--ignore-daemonsets',
      '--delete-emptydir-data',
      '--timeout=60s',
    );
    expect(r.code, r.stderr).toBe(0);
    expect(r.stdout).toContain(`node/${target} drained`);
    for (const p of onTarget) expect(r.stdout).toContain(`pod/${p.metadata.name} evicted`);
    const after = await waitFor('web back to 3 ready', () => allReady(sim, 'app=web', 3));
    expect(after.filter((p) => p.spec.nodeName === target)).toHaveLength(0);
    const daemon = (await pods(sim, 'app=agent')).filter((p) => p.spec.nodeName === target);
    expect(daemon).toHaveLength(1);
    expect(
      (await json<{ spec: { unschedulable?: boolean } }>(sim, 'get', 'node', target)).spec.unschedulable,
    ).toBe(true);
  });

  it('refuses an eviction that would violate a PodDisruptionBudget with 429 and the real message', async () => {
    t = await startTestSim();
    const sim = t;
    const guarded = await waitFor('guarded pods ready', () => allReady(sim, 'app=guarded', 2));
    const node = guarded[0]?.spec.nodeName ?? '';
    const r = await sim.kubectl(
      'drain',
      node,
      '--ignore-daemonsets',
      '--delete-emptydir-data',
      '--timeout=3s',
    );
    expect(r.code).not.toBe(0);
    expect(r.stderr).toContain("Cannot evict pod as it would violate the pod's disruption budget.");
    // The guarded pod is still there: the budget held.
    expect((await pods(sim, 'app=guarded')).filter((p) => p.spec.nodeName === node).length).toBeGreaterThan(
      0,
    );
  });

  it('discovers resources with their short names and subresources like a real server', async () => {
    t = await startTestSim();
    const r = await t.kubectl('api-resources', '--no-headers');
    expect(r.code).toBe(0);
    expect(r.stdout).toMatch(/^pods\s+po\s+v1\s+true\s+Pod$/m);
    expect(r.stdout).toMatch(/^deployments\s+deploy\s+apps\/v1\s+true\s+Deployment$/m);
    expect(r.stdout).toMatch(/^poddisruptionbudgets\s+pdb\s+policy\/v1\s+true\s+PodDisruptionBudget$/m);
    expect(r.stdout).toMatch(/^nodes\s+no\s+v1\s+false\s+Node$/m);
    const short = await t.kubectl('get', 'deploy,po', '-n', 'shop', '-o', 'name');
    expect(short.stdout).toContain('deployment.apps/web');
  });

  it('applies a manifest, then re-applies a changed image as a rolling update', async () => {
    t = await startTestSim();
    const sim = t;
    const dir = mkdtempSync(join(tmpdir(), 'vigil-apply-'));
    const file = join(dir, 'hello.yaml');
    const manifest = (image: string) =>
      `apiVersion: apps/v1\nkind: Deployment\nmetadata:\n  name: hello\n  namespace: shop\nspec:\n  replicas: 2\n  selector:\n    matchLabels: { app: hello }\n  template:\n    metadata:\n      labels: { app: hello }\n    spec:\n      containers:\n        - { name: hello, image: "${image}" }\n`;
    try {
      writeFileSync(file, manifest('hello:1'));
      expect((await sim.kubectl('apply', '-f', file)).stdout.trim()).toBe('deployment.apps/hello created');
      writeFileSync(file, manifest('hello:2'));
      expect((await sim.kubectl('apply', '-f', file)).stdout.trim()).toBe('deployment.apps/hello configured');
      expect(
        (await sim.kubectl('rollout', 'status', 'deployment/hello', '-n', 'shop', '--timeout=60s')).code,
      ).toBe(0);
      const d = await json<{
        metadata: { annotations: Record<string, string> };
        spec: { template: { spec: { containers: Array<{ image: string }> } } };
      }>(sim, 'get', 'deployment', 'hello', '-n', 'shop');
      expect(d.spec.template.spec.containers[0]?.image).toBe('hello:2');
      expect(d.metadata.annotations['deployment.kubernetes.io/revision']).toBe('2');
      expect(d.metadata.annotations['kubectl.kubernetes.io/last-applied-configuration']).toContain('hello:2');
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('answers unknown objects with the API server NotFound status', async () => {
    t = await startTestSim();
    const r = await t.kubectl('get', 'deployment', 'nope', '-n', 'shop');
    expect(r.code).not.toBe(0);
    expect(r.stderr.trim()).toBe('Error from server (NotFound): deployments.apps "nope" not found');
  });
});
