// Deployment controller: one ReplicaSet per pod template (named `<deploy>-<pod-template-hash>`), the
// `deployment.kubernetes.io/revision` annotation bumped whenever a template becomes current again (so
// `rollout undo` and `rollout restart` behave as on a real cluster), rolling updates bounded by
// maxSurge/maxUnavailable, and the status fields `kubectl rollout status` reads.
import { resourceByKind } from '../api/resources.ts';
import type { Store } from '../api/store.ts';
import type { Condition, Pod, Workload } from '../api/types.ts';
import { isoTime, type SimClock } from '../clock.ts';
import type { EventRecorder } from './events.ts';
import { controllerRef, isActive, isOwnedBy, isReady, templateHash } from './owners.ts';

const DEPLOY = resourceByKind('Deployment');
const RS = resourceByKind('ReplicaSet');
const POD = resourceByKind('Pod');
const SOURCE = { component: 'deployment-controller' };
const REVISION = 'deployment.kubernetes.io/revision';
const HASH = 'pod-template-hash';

function resolveIntOrPercent(
  v: number | string | undefined,
  total: number,
  fallback: string,
  roundUp: boolean,
): number {
  const value = v ?? fallback;
  if (typeof value === 'number') return value;
  const m = /^(\d+)%$/.exec(value);
  if (!m) return Number(value) || 0;
  const raw = (Number(m[1]) * total) / 100;
  return roundUp ? Math.ceil(raw) : Math.floor(raw);
}

function revisionOf(rs: Workload): number {
  return Number(rs.metadata.annotations?.[REVISION] ?? 0) || 0;
}

/** The template without the hash label, which is how templates are compared across ReplicaSets. */
function comparableTemplate(t: Workload['spec']['template']): unknown {
  const c = structuredClone(t);
  if (c.metadata?.labels) delete c.metadata.labels[HASH];
  return c;
}

export function reconcileDeployments(store: Store, events: EventRecorder, clock: SimClock): void {
  for (const d of store.peek<Workload>(DEPLOY)) {
    const ns = d.metadata.namespace ?? 'default';
    const owned = store.peek<Workload>(RS, { namespace: ns }).filter((rs) => isOwnedBy(rs, d));
    const hash = templateHash(comparableTemplate(d.spec.template));
    let newRs = owned.find((rs) => templateHash(comparableTemplate(rs.spec.template)) === hash);
    const maxRevision = Math.max(0, ...owned.map(revisionOf));
    const desired = d.spec.replicas ?? 1;
    const wall = isoTime(clock.wallMs());

    if (!newRs) {
      const template = structuredClone(d.spec.template);
      template.metadata = {
        ...template.metadata,
        labels: { ...(template.metadata?.labels ?? {}), [HASH]: hash },
      };
      const created = store.create<Workload>(RS, {
        apiVersion: 'apps/v1',
        kind: 'ReplicaSet',
        metadata: {
          name: `${d.metadata.name}-${hash}`,
          namespace: ns,
          labels: { ...(d.spec.template.metadata?.labels ?? {}), [HASH]: hash },
          annotations: {
            [REVISION]: String(maxRevision + 1),
            'deployment.kubernetes.io/desired-replicas': String(desired),
            'deployment.kubernetes.io/max-replicas': String(
              desired + resolveIntOrPercent(d.spec.strategy?.rollingUpdate?.maxSurge, desired, '25%', true),
            ),
          },
          ownerReferences: [controllerRef(d)],
        },
        spec: {
          replicas: 0,
          selector: {
            ...d.spec.selector,
            matchLabels: { ...(d.spec.selector.matchLabels ?? {}), [HASH]: hash },
          },
          template,
        },
      });
      newRs = created;
      owned.push(created);
    } else if (revisionOf(newRs) < maxRevision) {
      // An older template became current again (rollout undo): it gets the next revision number.
      const fresh = store.get<Workload>(RS, ns, newRs.metadata.name);
      const old = revisionOf(fresh);
      const history = fresh.metadata.annotations?.['deployment.kubernetes.io/revision-history'];
      fresh.metadata.annotations = {
        ...fresh.metadata.annotations,
        [REVISION]: String(maxRevision + 1),
        'deployment.kubernetes.io/revision-history': history ? `${history},${old}` : String(old),
      };
      newRs = store.update(RS, fresh);
    }
    const newName = newRs.metadata.name;
    const olds = owned.filter((rs) => rs.metadata.name !== newName);

    const pods = store.peek<Pod>(POD, { namespace: ns }).filter(isActive);
    const podsOf = (rs: Workload): Pod[] => pods.filter((p) => isOwnedBy(p, rs));
    const readyOf = (rs: Workload): number => podsOf(rs).filter(isReady).length;

    // Objects from peek() are the store's own (and its watch history's): never mutate them; track
    // this pass's scaling decisions on the side instead.
    const scaled = new Map<string, number>();
    const replicasOf = (rs: Workload): number => scaled.get(rs.metadata.name) ?? rs.spec.replicas ?? 0;
    const scaleRs = (rs: Workload, replicas: number): void => {
      const current = replicasOf(rs);
      if (current === replicas) return;
      const fresh = store.get<Workload>(RS, ns, rs.metadata.name);
      fresh.spec.replicas = replicas;
      fresh.metadata.annotations = {
        ...fresh.metadata.annotations,
        'deployment.kubernetes.io/desired-replicas': String(desired),
      };
      store.update(RS, fresh);
      scaled.set(rs.metadata.name, replicas);
      events.record(d, {
        type: 'Normal',
        reason: 'ScalingReplicaSet',
        message: `Scaled ${replicas > current ? 'up' : 'down'} replica set ${rs.metadata.name} from ${current} to ${replicas}`,
        source: SOURCE,
      });
    };

    if (!d.spec.paused) {
      if (d.spec.strategy?.type === 'Recreate') {
        for (const rs of olds) scaleRs(rs, 0);
        if (olds.every((rs) => podsOf(rs).length === 0)) scaleRs(newRs, desired);
      } else {
        const maxSurge = resolveIntOrPercent(d.spec.strategy?.rollingUpdate?.maxSurge, desired, '25%', true);
        let maxUnavailable = resolveIntOrPercent(
          d.spec.strategy?.rollingUpdate?.maxUnavailable,
          desired,
          '25%',
          false,
        );
        if (maxSurge === 0 && maxUnavailable === 0) maxUnavailable = 1;
        const oldsActive = olds.filter((rs) => replicasOf(rs) > 0);
        if (oldsActive.length === 0) {
          scaleRs(newRs, desired);
        } else {
          // Scale up the new ReplicaSet within the surge budget.
          const total = owned.reduce((s, rs) => s + replicasOf(rs), 0);
          const room = desired + maxSurge - total;
          if (room > 0) scaleRs(newRs, Math.min(desired, replicasOf(newRs) + room));
          // Scale down old ones: unhealthy replicas first, then as far as availability allows.
          const available = owned.reduce((s, rs) => s + readyOf(rs), 0);
          let canRemove = available - (desired - maxUnavailable);
          for (const rs of oldsActive) {
            const unhealthy = Math.max(0, replicasOf(rs) - readyOf(rs));
            let next = replicasOf(rs) - unhealthy;
            if (canRemove > 0) {
              const take = Math.min(canRemove, next);
              next -= take;
              canRemove -= take;
            }
            scaleRs(rs, Math.max(0, next));
          }
        }
      }
    }

    // Clean up history beyond revisionHistoryLimit (oldest empty ReplicaSets first).
    const limit = d.spec.revisionHistoryLimit ?? 10;
    const empty = olds
      .filter((rs) => replicasOf(rs) === 0 && podsOf(rs).length === 0)
      .sort((a, b) => revisionOf(a) - revisionOf(b));
    for (const rs of empty.slice(0, Math.max(0, empty.length - limit)))
      store.delete(RS, ns, rs.metadata.name);

    // Status.
    const allPods = owned.flatMap(podsOf);
    const updated = podsOf(newRs).length;
    const ready = allPods.filter(isReady).length;
    const maxUnavailable = resolveIntOrPercent(
      d.spec.strategy?.rollingUpdate?.maxUnavailable,
      desired,
      '25%',
      false,
    );
    const complete = updated === desired && allPods.length === desired && ready === desired;
    const prev = (d.status?.conditions ?? []) as Condition[];
    const condition = (type: string, on: boolean, reason: string, message: string): Condition => {
      const old = prev.find((c) => c.type === type);
      const status = on ? 'True' : 'False';
      const keep = old && old.status === status && old.reason === reason;
      return {
        type,
        status,
        lastUpdateTime: keep ? (old.lastUpdateTime ?? wall) : wall,
        lastTransitionTime: old && old.status === status ? (old.lastTransitionTime ?? wall) : wall,
        reason,
        message,
      };
    };
    const availableOk = ready >= desired - maxUnavailable;
    const conditions = [
      condition(
        'Available',
        availableOk,
        availableOk ? 'MinimumReplicasAvailable' : 'MinimumReplicasUnavailable',
        availableOk
          ? 'Deployment has minimum availability.'
          : 'Deployment does not have minimum availability.',
      ),
      condition(
        'Progressing',
        true,
        complete ? 'NewReplicaSetAvailable' : 'ReplicaSetUpdated',
        complete
          ? `ReplicaSet "${newName}" has successfully progressed.`
          : `ReplicaSet "${newName}" is progressing.`,
      ),
    ];
    const status = {
      observedGeneration: d.metadata.generation ?? 1,
      replicas: allPods.length,
      updatedReplicas: updated,
      readyReplicas: ready,
      availableReplicas: ready,
      unavailableReplicas: Math.max(0, desired - ready),
      conditions,
    };
    const revision = String(revisionOf(store.get<Workload>(RS, ns, newName)));
    const fresh = store.get<Workload>(DEPLOY, ns, d.metadata.name);
    if (fresh.metadata.annotations?.[REVISION] !== revision) {
      fresh.metadata.annotations = { ...fresh.metadata.annotations, [REVISION]: revision };
      store.update(DEPLOY, fresh, 'main');
    }
    const strip = (s: unknown): string =>
      JSON.stringify(s, (k, v) => (k === 'lastUpdateTime' || k === 'lastTransitionTime' ? undefined : v));
    if (strip(status) !== strip(d.status)) {
      const latest = store.get<Workload>(DEPLOY, ns, d.metadata.name);
      latest.status = status;
      store.update(DEPLOY, latest, 'status');
    }
  }
}
