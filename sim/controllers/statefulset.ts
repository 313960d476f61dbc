// StatefulSet controller: pods `<sts>-<ordinal>` with stable names, created in parallel (the simulator
// does not wait for ordinal N to be ready before N+1; see docs/simulator.md), removed from the top.
import { resourceByKind } from '../api/resources.ts';
import type { Store } from '../api/store.ts';
import type { Pod, Workload } from '../api/types.ts';
import type { EventRecorder } from './events.ts';
import { controllerRef, isActive, isOwnedBy, isReady, templateHash } from './owners.ts';

const STS = resourceByKind('StatefulSet');
const POD = resourceByKind('Pod');
const SOURCE = { component: 'statefulset-controller' };

export function reconcileStatefulSets(store: Store, events: EventRecorder): void {
  for (const sts of store.peek<Workload>(STS)) {
    const ns = sts.metadata.namespace ?? 'default';
    const want = sts.spec.replicas ?? 1;
    const revision = `${sts.metadata.name}-${templateHash(sts.spec.template)}`;
    const pods = store.peek<Pod>(POD, { namespace: ns }).filter((p) => isOwnedBy(p, sts));
    for (let i = 0; i < want; i++) {
      const name = `${sts.metadata.name}-${i}`;
      const existing = pods.find((p) => p.metadata.name === name);
      if (existing && !isActive(existing)) {
        store.delete(POD, ns, name);
        continue;
      }
      if (existing) {
        // Rolling update, highest ordinal first: replace a pod whose revision is stale once the rest are ready.
        const stale = existing.metadata.labels?.['controller-revision-hash'] !== revision;
        if (
          stale &&
          pods.filter((p) => p.metadata.name !== name).every(isReady) &&
          i === highestStale(pods, revision)
        ) {
          store.delete(POD, ns, name);
          events.record(sts, {
            type: 'Normal',
            reason: 'SuccessfulDelete',
            message: `delete Pod ${name} in StatefulSet ${sts.metadata.name} successful`,
            source: SOURCE,
          });
        }
        continue;
      }
      if (store.tryGet(POD, ns, name)) continue;
      const template = structuredClone(sts.spec.template);
      store.create<Pod>(POD, {
        apiVersion: 'v1',
        kind: 'Pod',
        metadata: {
          name,
          namespace: ns,
          labels: {
            ...(template.metadata?.labels ?? {}),
            'controller-revision-hash': revision,
            'statefulset.kubernetes.io/pod-name': name,
            'apps.kubernetes.io/pod-index': String(i),
          },
          annotations: template.metadata?.annotations ?? {},
          ownerReferences: [controllerRef(sts)],
        },
        spec: {
          restartPolicy: 'Always',
          hostname: name,
          subdomain: sts.spec.serviceName ?? sts.metadata.name,
          ...template.spec,
        },
        status: { phase: 'Pending' },
      });
      events.record(sts, {
        type: 'Normal',
        reason: 'SuccessfulCreate',
        message: `create Pod ${name} in StatefulSet ${sts.metadata.name} successful`,
        source: SOURCE,
      });
    }
    for (const p of pods) {
      const ordinal = Number(p.metadata.name.slice(sts.metadata.name.length + 1));
      if (ordinal >= want) store.delete(POD, ns, p.metadata.name);
    }
    const current = store.peek<Pod>(POD, { namespace: ns }).filter((p) => isOwnedBy(p, sts) && isActive(p));
    const ready = current.filter(isReady).length;
    const updated = current.filter(
      (p) => p.metadata.labels?.['controller-revision-hash'] === revision,
    ).length;
    const status = {
      observedGeneration: sts.metadata.generation ?? 1,
      replicas: current.length,
      readyReplicas: ready,
      currentReplicas: updated,
      updatedReplicas: updated,
      availableReplicas: ready,
      currentRevision: revision,
      updateRevision: revision,
      collisionCount: 0,
    };
    if (JSON.stringify(status) !== JSON.stringify(sts.status)) {
      const fresh = store.get<Workload>(STS, ns, sts.metadata.name);
      fresh.status = status;
      store.update(STS, fresh, 'status');
    }
  }
}

function highestStale(pods: readonly Pod[], revision: string): number {
  let max = -1;
  for (const p of pods) {
    if (p.metadata.labels?.['controller-revision-hash'] === revision) continue;
    const ordinal = Number(p.metadata.labels?.['apps.kubernetes.io/pod-index'] ?? -1);
    max = Math.max(max, ordinal);
  }
  return max;
}
