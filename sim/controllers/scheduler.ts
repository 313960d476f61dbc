// Scheduler: binds pending pods to ready, schedulable nodes whose NoSchedule/NoExecute taints they
// tolerate and whose labels match the nodeSelector, spreading by the fewest pods per node.
import { resourceByKind } from '../api/resources.ts';
import type { Store } from '../api/store.ts';
import type { Node, Pod } from '../api/types.ts';
import { isoTime, type SimClock } from '../clock.ts';
import type { EventRecorder } from './events.ts';
import { isActive } from './owners.ts';

const POD = resourceByKind('Pod');
const NODE = resourceByKind('Node');
const SOURCE = { component: 'default-scheduler' };

function isNodeReady(n: Node): boolean {
  return (n.status?.conditions ?? []).some((c) => c.type === 'Ready' && c.status === 'True');
}

function untolerated(pod: Pod, node: Node): string | undefined {
  const tolerations = pod.spec.tolerations ?? [];
  for (const t of node.spec.taints ?? []) {
    if (t.effect !== 'NoSchedule' && t.effect !== 'NoExecute') continue;
    const ok = tolerations.some(
      (tol) =>
        (tol.operator === 'Exists' && (!tol.key || tol.key === t.key)) ||
        (tol.key === t.key && (tol.value ?? '') === (t.value ?? '')),
    );
    if (!ok) return `{${t.key}: ${t.value ?? ''}}`;
  }
  return undefined;
}

export function reconcileScheduler(store: Store, events: EventRecorder, clock: SimClock): void {
  const pending = store.peek<Pod>(POD).filter((p) => !p.spec.nodeName && isActive(p));
  if (pending.length === 0) return;
  const nodes = store.peek<Node>(NODE);
  const load = new Map<string, number>();
  for (const p of store.peek<Pod>(POD)) {
    if (p.spec.nodeName && isActive(p)) load.set(p.spec.nodeName, (load.get(p.spec.nodeName) ?? 0) + 1);
  }
  for (const pod of pending) {
    const reasons = new Map<string, number>();
    const fits = nodes.filter((n) => {
      let why: string | undefined;
      if (n.spec.unschedulable) why = 'node(s) were unschedulable';
      else if (!isNodeReady(n)) why = 'node(s) had untolerated taint {node.kubernetes.io/not-ready: }';
      else {
        const taint = untolerated(pod, n);
        if (taint) why = `node(s) had untolerated taint ${taint}`;
        else if (Object.entries(pod.spec.nodeSelector ?? {}).some(([k, v]) => n.metadata.labels?.[k] !== v)) {
          why = "node(s) didn't match Pod's node affinity/selector";
        }
      }
      if (why) reasons.set(why, (reasons.get(why) ?? 0) + 1);
      return !why;
    });
    const fresh = store.get<Pod>(POD, pod.metadata.namespace, pod.metadata.name);
    const wall = isoTime(clock.wallMs());
    if (fits.length === 0) {
      const detail = [...reasons].map(([why, n]) => `${n} ${why}`).join(', ');
      const message = `0/${nodes.length} nodes are available: ${detail}. preemption: 0/${nodes.length} nodes are available: ${nodes.length} Preemption is not helpful for scheduling.`;
      const prev = fresh.status?.conditions?.find((c) => c.type === 'PodScheduled');
      if (prev?.message !== message) {
        fresh.status = {
          ...fresh.status,
          phase: 'Pending',
          conditions: [
            {
              type: 'PodScheduled',
              status: 'False',
              reason: 'Unschedulable',
              message,
              lastProbeTime: null,
              lastTransitionTime: wall,
            },
          ],
        };
        store.update(POD, fresh, 'status');
        events.record(fresh, { type: 'Warning', reason: 'FailedScheduling', message, source: SOURCE });
      }
      continue;
    }
    fits.sort(
      (a, b) =>
        (load.get(a.metadata.name) ?? 0) - (load.get(b.metadata.name) ?? 0) ||
        a.metadata.name.localeCompare(b.metadata.name),
    );
    const target = fits[0];
    if (!target) continue;
    fresh.spec.nodeName = target.metadata.name;
    const bound = store.update(POD, fresh, 'all');
    load.set(target.metadata.name, (load.get(target.metadata.name) ?? 0) + 1);
    events.record(bound, {
      type: 'Normal',
      reason: 'Scheduled',
      message: `Successfully assigned ${pod.metadata.namespace}/${pod.metadata.name} to ${target.metadata.name}`,
      source: SOURCE,
    });
  }
}
