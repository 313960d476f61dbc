// Turns a scenario's topology into node models and the Kubernetes objects a real cluster would hold
// after `kubectl apply`: namespaces, workloads, Services and PodDisruptionBudgets.
import { resourceByKind } from '../api/resources.ts';
import type { Store } from '../api/store.ts';
import type { Container, KubeObject } from '../api/types.ts';
import { parseQuantity } from '../controllers/runtime.ts';
import { createNodeModel, type NodeModel } from '../node/model.ts';
import type { Scenario, WorkloadSpec } from './schema.ts';

function bytes(q: string | number): number {
  return parseQuantity(q) ?? 0;
}

export function buildNodeModels(s: Scenario): NodeModel[] {
  const models: NodeModel[] = [];
  for (const n of s.nodes) {
    const names = n.count ? Array.from({ length: n.count }, (_, i) => `${n.name}-${i + 1}`) : [n.name];
    for (const name of names) {
      const diskBytes = bytes(n.disk);
      const used =
        typeof n.diskUsed === 'string' && n.diskUsed.endsWith('%')
          ? (diskBytes * Number(n.diskUsed.slice(0, -1))) / 100
          : bytes(n.diskUsed);
      const opts: Parameters<typeof createNodeModel>[3] = {
        cpus: n.cpus,
        memoryBytes: bytes(n.memory),
        diskBytes,
        diskUsedBytes: Math.round(used),
      };
      if (n.labels) opts.labels = n.labels;
      models.push(createNodeModel(name, models.length, n.role, opts));
    }
  }
  return models;
}

export function workloadLabels(w: WorkloadSpec): Record<string, string> {
  return { app: w.name, ...(w.labels ?? {}) };
}

function quantityText(q: string | number | undefined): string | undefined {
  return q === undefined ? undefined : String(q);
}

export function containerFor(w: WorkloadSpec): Container {
  const c: Container = { name: w.name, image: w.image, imagePullPolicy: 'IfNotPresent' };
  if (w.port) c.ports = [{ containerPort: w.port, name: 'main', protocol: 'TCP' }];
  const resources: { requests?: Record<string, string>; limits?: Record<string, string> } = {};
  for (const part of ['requests', 'limits'] as const) {
    const src = w.resources?.[part];
    if (!src) continue;
    const out: Record<string, string> = {};
    const cpu = quantityText(src.cpu);
    const mem = quantityText(src.memory);
    if (cpu) out.cpu = cpu;
    if (mem) out.memory = mem;
    resources[part] = out;
  }
  c.resources = resources;
  if (w.privileged) c.securityContext = { privileged: true };
  if (w.port) {
    c.readinessProbe = { tcpSocket: { port: w.port }, periodSeconds: 5 };
  }
  return c;
}

export function createTopology(store: Store, s: Scenario): void {
  for (const w of s.workloads) {
    const labels = workloadLabels(w);
    const podSpec: Record<string, unknown> = {
      containers: [containerFor(w)],
      restartPolicy: 'Always',
      terminationGracePeriodSeconds: 30,
    };
    if (w.nodeSelector) podSpec.nodeSelector = w.nodeSelector;
    const spec: Record<string, unknown> = {
      selector: { matchLabels: labels },
      template: { metadata: { labels }, spec: podSpec },
    };
    if (w.kind !== 'DaemonSet') spec.replicas = w.replicas;
    if (w.kind === 'StatefulSet') spec.serviceName = w.name;
    if (w.kind === 'Deployment') {
      spec.strategy = { type: 'RollingUpdate', rollingUpdate: { maxSurge: '25%', maxUnavailable: '25%' } };
      spec.revisionHistoryLimit = 10;
    }
    const obj: KubeObject = {
      apiVersion: 'apps/v1',
      kind: w.kind,
      metadata: { name: w.name, namespace: w.namespace, labels },
      spec,
    };
    store.create(resourceByKind(w.kind), obj);
    if (w.port !== undefined) {
      store.create(resourceByKind('Service'), {
        apiVersion: 'v1',
        kind: 'Service',
        metadata: { name: w.name, namespace: w.namespace, labels },
        spec: {
          type: 'ClusterIP',
          clusterIP: `10.96.${(store.currentVersion() >> 8) & 255}.${store.currentVersion() & 255}`,
          selector: labels,
          ports: [{ name: 'main', port: w.port, targetPort: w.port, protocol: 'TCP' }],
        },
      });
    }
    if (w.pdb) {
      const pdbSpec: Record<string, unknown> = { selector: { matchLabels: labels } };
      if (w.pdb.minAvailable !== undefined) pdbSpec.minAvailable = w.pdb.minAvailable;
      if (w.pdb.maxUnavailable !== undefined) pdbSpec.maxUnavailable = w.pdb.maxUnavailable;
      store.create(resourceByKind('PodDisruptionBudget'), {
        apiVersion: 'policy/v1',
        kind: 'PodDisruptionBudget',
        metadata: { name: w.name, namespace: w.namespace },
        spec: pdbSpec,
      });
    }
  }
}
