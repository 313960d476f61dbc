// Endpoints controller: each Service with a selector gets an Endpoints object listing ready pods under
// `addresses` and unready ones under `notReadyAddresses`, updated only when that changes.
import { resourceByKind } from '../api/resources.ts';
import type { Store } from '../api/store.ts';
import type { KubeObject, Pod, Service } from '../api/types.ts';
import { isActive, isReady } from './owners.ts';

const SVC = resourceByKind('Service');
const EP = resourceByKind('Endpoints');
const POD = resourceByKind('Pod');

export function reconcileEndpoints(store: Store): void {
  for (const svc of store.peek<Service>(SVC)) {
    const selector = svc.spec.selector;
    if (!selector || Object.keys(selector).length === 0) continue;
    const ns = svc.metadata.namespace ?? 'default';
    const pods = store
      .peek<Pod>(POD, { namespace: ns })
      .filter(
        (p) =>
          isActive(p) &&
          p.status?.podIP &&
          Object.entries(selector).every(([k, v]) => p.metadata.labels?.[k] === v),
      )
      .sort((a, b) => a.metadata.name.localeCompare(b.metadata.name));
    const address = (p: Pod) => ({
      ip: p.status?.podIP ?? '',
      nodeName: p.spec.nodeName ?? '',
      targetRef: { kind: 'Pod', namespace: ns, name: p.metadata.name, uid: p.metadata.uid ?? '' },
    });
    const ready = pods.filter(isReady).map(address);
    const notReady = pods.filter((p) => !isReady(p)).map(address);
    const subset: Record<string, unknown> = {
      ports: (svc.spec.ports ?? []).map((p) => ({
        name: p.name,
        port: typeof p.targetPort === 'number' ? p.targetPort : p.port,
        protocol: p.protocol ?? 'TCP',
      })),
    };
    if (ready.length) subset.addresses = ready;
    if (notReady.length) subset.notReadyAddresses = notReady;
    const subsets = ready.length || notReady.length ? [subset] : [];
    const existing = store.tryGet<KubeObject>(EP, ns, svc.metadata.name);
    if (!existing) {
      store.create(EP, {
        apiVersion: 'v1',
        kind: 'Endpoints',
        metadata: { name: svc.metadata.name, namespace: ns, labels: svc.metadata.labels ?? {} },
        subsets,
      });
    } else if (JSON.stringify(existing.subsets) !== JSON.stringify(subsets)) {
      existing.subsets = subsets;
      store.update(EP, existing);
    }
  }
}
