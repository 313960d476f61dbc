// ReplicaSet controller: keeps `spec.replicas` active pods, named `<rs>-<5 chars>`, and reports status.
import { resourceByKind } from '../api/resources.ts';
import { fromSpecSelector, matchesLabels } from '../api/selectors.ts';
import type { Store } from '../api/store.ts';
import type { Pod, Workload } from '../api/types.ts';
import type { EventRecorder } from './events.ts';
import { controllerRef, isActive, isOwnedBy, isReady } from './owners.ts';

const RS = resourceByKind('ReplicaSet');
const POD = resourceByKind('Pod');
const SOURCE = { component: 'replicaset-controller' };

export function reconcileReplicaSets(store: Store, events: EventRecorder): void {
  for (const rs of store.peek<Workload>(RS)) {
    const ns = rs.metadata.namespace ?? 'default';
    const reqs = fromSpecSelector(rs.spec.selector);
    const pods = store
      .peek<Pod>(POD, { namespace: ns })
      .filter((p) => isOwnedBy(p, rs) && matchesLabels(reqs, p.metadata.labels));
    const active = pods.filter(isActive);
    const want = rs.spec.replicas ?? 1;
    if (active.length < want) {
      for (let i = active.length; i < want; i++) {
        const template = structuredClone(rs.spec.template);
        const pod = store.create<Pod>(POD, {
          apiVersion: 'v1',
          kind: 'Pod',
          metadata: {
            name: '',
            generateName: `${rs.metadata.name}-`,
            namespace: ns,
            labels: template.metadata?.labels ?? {},
            annotations: template.metadata?.annotations ?? {},
            ownerReferences: [controllerRef(rs)],
          },
          spec: { restartPolicy: 'Always', ...template.spec },
          status: { phase: 'Pending', qosClass: 'Burstable' },
        });
        events.record(rs, {
          type: 'Normal',
          reason: 'SuccessfulCreate',
          message: `Created pod: ${pod.metadata.name}`,
          source: SOURCE,
        });
      }
    } else if (active.length > want) {
      // Delete the least useful first: unscheduled, then not ready, then the newest.
      const rank = (p: Pod): number => (p.spec.nodeName ? 0 : 2) + (isReady(p) ? 0 : 1);
      const victims = [...active]
        .sort(
          (a, b) =>
            rank(b) - rank(a) ||
            (b.metadata.creationTimestamp ?? '').localeCompare(a.metadata.creationTimestamp ?? ''),
        )
        .slice(0, active.length - want);
      for (const v of victims) {
        store.delete(POD, ns, v.metadata.name);
        events.record(rs, {
          type: 'Normal',
          reason: 'SuccessfulDelete',
          message: `Deleted pod: ${v.metadata.name}`,
          source: SOURCE,
        });
      }
    }
    const current = store.peek<Pod>(POD, { namespace: ns }).filter((p) => isOwnedBy(p, rs) && isActive(p));
    const ready = current.filter(isReady).length;
    const status = {
      replicas: current.length,
      fullyLabeledReplicas: current.length,
      readyReplicas: ready,
      availableReplicas: ready,
      observedGeneration: rs.metadata.generation ?? 1,
    };
    if (JSON.stringify(status) !== JSON.stringify(rs.status)) {
      const fresh = store.get<Workload>(RS, ns, rs.metadata.name);
      fresh.status = status;
      store.update(RS, fresh, 'status');
    }
  }
}
