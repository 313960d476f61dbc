// Cluster actions through the Kubernetes API with @kubernetes/client-node, done the way kubectl does them:
// restart = delete the pod; rollout restart = `kubectl.kubernetes.io/restartedAt` on the pod template;
// rollback = rollback.ts; scale through the scale subresource; cordon = `spec.unschedulable`; drain =
// cordon + policy/v1 Evictions (a 429 means a PodDisruptionBudget says no: retry every 5 s until the
// timeout, never delete around it); quarantine = strip the labels its Services and ReplicaSet select on,
// label it `vigil.io/quarantine=true` and make sure a deny-all NetworkPolicy selects that label.
import {
  AppsV1Api,
  CoreV1Api,
  type KubeConfig,
  NetworkingV1Api,
  PatchStrategy,
  setHeaderOptions,
  type V1Pod,
} from '@kubernetes/client-node';
import type { ActionExecutor, ExecResult, RemediationAction } from './action.ts';
import { planRollback } from './rollback.ts';

export const QUARANTINE_LABEL = 'vigil.io/quarantine';
export const QUARANTINE_POLICY = 'vigil-quarantine-deny-all';

export interface KubeExecutorOptions {
  /** Drain: how long to keep retrying evictions a PDB refuses (kubectl `--timeout`). */
  drainTimeoutMs?: number;
  /** Drain: delay between refused evictions (kubectl `EvictErrorRetryDelay`, 5 s). */
  evictRetryMs?: number;
  clock?: () => number;
  sleep?: (ms: number) => Promise<void>;
}

function statusCode(error: unknown): number | undefined {
  const e = error as { code?: number; statusCode?: number; response?: { statusCode?: number } };
  return e.code ?? e.statusCode ?? e.response?.statusCode;
}

function describe(error: unknown): string {
  const e = error as { body?: unknown; message?: string };
  const body = typeof e.body === 'string' ? e.body : e.body ? JSON.stringify(e.body) : '';
  const m = /"message":\s*"([^"]+)"/.exec(body);
  return m?.[1] ?? e.message ?? String(error);
}

const patchAs = (strategy: string) => setHeaderOptions('Content-Type', strategy);

export class KubeExecutor implements ActionExecutor {
  readonly #core: CoreV1Api;
  readonly #apps: AppsV1Api;
  readonly #net: NetworkingV1Api;
  readonly #options: Required<KubeExecutorOptions>;

  constructor(kubeconfig: KubeConfig, options: KubeExecutorOptions = {}) {
    this.#core = kubeconfig.makeApiClient(CoreV1Api);
    this.#apps = kubeconfig.makeApiClient(AppsV1Api);
    this.#net = kubeconfig.makeApiClient(NetworkingV1Api);
    this.#options = {
      drainTimeoutMs: options.drainTimeoutMs ?? 60_000,
      evictRetryMs: options.evictRetryMs ?? 5000,
      clock: options.clock ?? Date.now,
      sleep: options.sleep ?? ((ms) => new Promise((r) => setTimeout(r, ms))),
    };
  }

  async execute(action: RemediationAction): Promise<ExecResult> {
    try {
      switch (action.type) {
        case 'pod.restart':
          return await this.restartPod(action.target.namespace ?? 'default', action.target.name);
        case 'deployment.rollout_restart':
          return await this.rolloutRestart(action.target.namespace ?? 'default', action.target.name);
        case 'deployment.rollback':
          return await this.rollback(
            action.target.namespace ?? 'default',
            action.target.name,
            Number(action.params['toRevision'] ?? 0),
          );
        case 'deployment.scale':
          return await this.scale(action.target.namespace ?? 'default', action.target.name, action.params);
        case 'node.cordon':
          return await this.cordon(action.target.node ?? action.target.name);
        case 'node.drain':
          return await this.drain(action.target.node ?? action.target.name);
        case 'pod.quarantine':
          return await this.quarantine(action.target.namespace ?? 'default', action.target.name);
        default:
          return { ok: false, message: `${action.type} is not a Kubernetes API action` };
      }
    } catch (error) {
      return { ok: false, message: `${action.type} ${action.target.object}: ${describe(error)}` };
    }
  }

  async restartPod(namespace: string, name: string): Promise<ExecResult> {
    await this.#core.deleteNamespacedPod({ namespace, name });
    return { ok: true, message: `deleted pod ${namespace}/${name}; its controller replaces it` };
  }

  async rolloutRestart(namespace: string, name: string): Promise<ExecResult> {
    const d = await this.#apps.readNamespacedDeployment({ namespace, name });
    if (d.spec?.paused)
      return { ok: false, message: `can't restart paused deployment (run rollout resume first)` };
    const restartedAt = new Date(this.#options.clock()).toISOString().replace(/\.\d{3}Z$/, 'Z');
    await this.#apps.patchNamespacedDeployment(
      {
        namespace,
        name,
        body: {
          spec: {
            template: { metadata: { annotations: { 'kubectl.kubernetes.io/restartedAt': restartedAt } } },
          },
        },
      },
      patchAs(PatchStrategy.StrategicMergePatch),
    );
    return { ok: true, message: `deployment ${namespace}/${name} restarted (restartedAt ${restartedAt})` };
  }

  async rollback(namespace: string, name: string, toRevision = 0): Promise<ExecResult> {
    const d = await this.#apps.readNamespacedDeployment({ namespace, name });
    const selector = Object.entries(d.spec?.selector?.matchLabels ?? {})
      .map(([k, v]) => `${k}=${v}`)
      .join(',');
    const list = await this.#apps.listNamespacedReplicaSet({
      namespace,
      ...(selector ? { labelSelector: selector } : {}),
    });
    const plan = planRollback(d, list.items, toRevision);
    if (plan.kind === 'refuse') return { ok: false, message: plan.message };
    if (plan.kind === 'skip') return { ok: true, message: plan.message };
    await this.#apps.patchNamespacedDeployment(
      { namespace, name, body: plan.patch },
      patchAs(PatchStrategy.JsonPatch),
    );
    return { ok: true, message: `deployment ${namespace}/${name} rolled back to revision ${plan.revision}` };
  }

  async scale(namespace: string, name: string, params: Record<string, string>): Promise<ExecResult> {
    const current = await this.#apps.readNamespacedDeploymentScale({ namespace, name });
    const now = current.spec?.replicas ?? 0;
    const replicas =
      params['replicas'] !== undefined ? Number(params['replicas']) : now + Number(params['delta'] ?? 1);
    if (!Number.isInteger(replicas) || replicas < 0)
      return { ok: false, message: `invalid replicas ${replicas}` };
    await this.#apps.patchNamespacedDeploymentScale(
      { namespace, name, body: { spec: { replicas } } },
      patchAs(PatchStrategy.MergePatch),
    );
    return { ok: true, message: `deployment ${namespace}/${name} scaled from ${now} to ${replicas}` };
  }

  async cordon(node: string): Promise<ExecResult> {
    await this.#core.patchNode(
      { name: node, body: { spec: { unschedulable: true } } },
      patchAs(PatchStrategy.StrategicMergePatch),
    );
    return { ok: true, message: `node ${node} cordoned` };
  }

  async drain(node: string): Promise<ExecResult> {
    await this.cordon(node);
    const pods = await this.#core.listPodForAllNamespaces({ fieldSelector: `spec.nodeName=${node}` });
    // kubectl's filters: DaemonSet pods come back anyway and mirror pods cannot be evicted; finished pods need nothing.
    const evictable = pods.items.filter(
      (p: V1Pod) =>
        !(p.metadata?.ownerReferences ?? []).some((o) => o.kind === 'DaemonSet') &&
        !p.metadata?.annotations?.['kubernetes.io/config.mirror'] &&
        p.status?.phase !== 'Succeeded' &&
        p.status?.phase !== 'Failed',
    );
    const deadline = this.#options.clock() + this.#options.drainTimeoutMs;
    const pending = new Set(evictable.map((p) => `${p.metadata?.namespace}/${p.metadata?.name}`));
    const refused = new Map<string, string>();
    while (pending.size > 0) {
      for (const key of [...pending]) {
        const [namespace = '', name = ''] = key.split('/');
        try {
          await this.#core.createNamespacedPodEviction({
            namespace,
            name,
            body: { apiVersion: 'policy/v1', kind: 'Eviction', metadata: { name, namespace } },
          });
          pending.delete(key);
        } catch (error) {
          const code = statusCode(error);
          if (code === 404) pending.delete(key);
          else if (code === 429) refused.set(key, describe(error));
          else throw error;
        }
      }
      if (pending.size === 0 || this.#options.clock() >= deadline) break;
      await this.#options.sleep(
        Math.min(this.#options.evictRetryMs, Math.max(0, deadline - this.#options.clock())),
      );
    }
    const evicted = evictable.length - pending.size;
    if (pending.size > 0) {
      const first = [...pending][0] ?? '';
      return {
        ok: false,
        message: `node ${node} cordoned; evicted ${evicted} of ${evictable.length} pods; ${pending.size} still refused by a PodDisruptionBudget (e.g. ${first}: ${refused.get(first) ?? 'refused'})`,
      };
    }
    return { ok: true, message: `node ${node} drained: ${evicted} pods evicted` };
  }

  async quarantine(namespace: string, name: string): Promise<ExecResult> {
    const pod = await this.#core.readNamespacedPod({ namespace, name });
    const labels = pod.metadata?.labels ?? {};
    // Strip every label a Service or the owning ReplicaSet selects on: out of the endpoints, orphaned (so
    // the controller starts a clean replacement) but still running for forensics.
    const services = await this.#core.listNamespacedService({ namespace });
    const selected = new Set<string>();
    for (const svc of services.items) {
      const sel = svc.spec?.selector ?? {};
      if (Object.keys(sel).length > 0 && Object.entries(sel).every(([k, v]) => labels[k] === v)) {
        for (const k of Object.keys(sel)) selected.add(k);
      }
    }
    for (const owner of pod.metadata?.ownerReferences ?? []) {
      if (owner.kind !== 'ReplicaSet') continue;
      const rs = await this.#apps.readNamespacedReplicaSet({ namespace, name: owner.name });
      for (const k of Object.keys(rs.spec?.selector?.matchLabels ?? {})) selected.add(k);
    }
    const patch: Record<string, string | null> = { [QUARANTINE_LABEL]: 'true' };
    for (const k of selected) patch[k] = null;
    await this.#core.patchNamespacedPod(
      { namespace, name, body: { metadata: { labels: patch } } },
      patchAs(PatchStrategy.MergePatch),
    );
    try {
      await this.#net.createNamespacedNetworkPolicy({
        namespace,
        body: {
          apiVersion: 'networking.k8s.io/v1',
          kind: 'NetworkPolicy',
          metadata: {
            name: QUARANTINE_POLICY,
            namespace,
            labels: { 'app.kubernetes.io/managed-by': 'vigil' },
          },
          spec: {
            podSelector: { matchLabels: { [QUARANTINE_LABEL]: 'true' } },
            policyTypes: ['Ingress', 'Egress'],
          },
        },
      });
    } catch (error) {
      if (statusCode(error) !== 409) throw error;
    }
    return {
      ok: true,
      message: `pod ${namespace}/${name} quarantined: removed labels [${[...selected].join(', ')}], deny-all NetworkPolicy ${QUARANTINE_POLICY}; still running`,
    };
  }
}
