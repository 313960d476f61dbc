// DaemonSet controller: one pod per node, bound directly (daemon pods tolerate cordons and the
// not-ready/unreachable taints, as real ones do through their default tolerations).
import { resourceByKind } from '../api/resources.ts';
import type { Store } from '../api/store.ts';
import type { Node, Pod, Workload } from '../api/types.ts';
import type { EventRecorder } from './events.ts';
import { controllerRef, isActive, isOwnedBy, isReady, templateHash } from './owners.ts';

const DS = resourceByKind('DaemonSet');
const POD = resourceByKind('Pod');
const NODE = resourceByKind('Node');
const SOURCE = { component: 'daemonset-controller' };

function tolerates(ds: Workload, node: Node): boolean {
  const tolerations = ds.spec.template.spec.tolerations ?? [];
  return (node.spec.taints ?? [])
    .filter((t) => t.effect === 'NoSchedule' && !t.key.startsWith('node.kubernetes.io/'))
    .every((t) => tolerations.some((tol) => tol.operator === 'Exists' && (!tol.key || tol.key === t.key)));
}

export function reconcileDaemonSets(store: Store, events: EventRecorder): void {
  const nodes = store.peek<Node>(NODE);
  for (const ds of store.peek<Workload>(DS)) {
    const ns = ds.metadata.namespace ?? 'default';
    const hash = templateHash(ds.spec.template);
    const pods = store.peek<Pod>(POD, { namespace: ns }).filter((p) => isOwnedBy(p, ds));
    const eligible = nodes.filter((n) => tolerates(ds, n));
    for (const node of eligible) {
      const onNode = pods.filter((p) => p.spec.nodeName === node.metadata.name);
      for (const p of onNode.filter((p) => !isActive(p))) store.delete(POD, ns, p.metadata.name);
      if (onNode.some(isActive)) continue;
      const template = structuredClone(ds.spec.template);
      const pod = store.create<Pod>(POD, {
        apiVersion: 'v1',
        kind: 'Pod',
        metadata: {
          name: '',
          generateName: `${ds.metadata.name}-`,
          namespace: ns,
          labels: {
            ...(template.metadata?.labels ?? {}),
            'controller-revision-hash': hash,
            'pod-template-generation': String(ds.metadata.generation ?? 1),
          },
          annotations: template.metadata?.annotations ?? {},
          ownerReferences: [controllerRef(ds)],
        },
        spec: { restartPolicy: 'Always', ...template.spec, nodeName: node.metadata.name },
        status: { phase: 'Pending' },
      });
      events.record(ds, {
        type: 'Normal',
        reason: 'SuccessfulCreate',
        message: `Created pod: ${pod.metadata.name}`,
        source: SOURCE,
      });
    }
    const current = store.peek<Pod>(POD, { namespace: ns }).filter((p) => isOwnedBy(p, ds) && isActive(p));
    const ready = current.filter(isReady).length;
    const status = {
      currentNumberScheduled: current.length,
      desiredNumberScheduled: eligible.length,
      numberMisscheduled: 0,
      numberReady: ready,
      numberAvailable: ready,
      updatedNumberScheduled: current.length,
      observedGeneration: ds.metadata.generation ?? 1,
    };
    if (JSON.stringify(status) !== JSON.stringify(ds.status)) {
      const fresh = store.get<Workload>(DS, ns, ds.metadata.name);
      fresh.status = status;
      store.update(DS, fresh, 'status');
    }
  }
}
