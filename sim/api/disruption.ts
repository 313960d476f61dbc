// PodDisruptionBudget arithmetic shared by the eviction subresource and the disruption controller.
import { fromSpecSelector, matchesLabels } from './selectors.ts';
import type { Pod, PodDisruptionBudget } from './types.ts';

export interface BudgetState {
  expectedPods: number;
  currentHealthy: number;
  desiredHealthy: number;
  disruptionsAllowed: number;
}

export function isPodReady(pod: Pod): boolean {
  return (pod.status?.conditions ?? []).some((c) => c.type === 'Ready' && c.status === 'True');
}

function resolve(value: number | string, total: number, roundUp: boolean): number {
  if (typeof value === 'number') return value;
  const pct = /^(\d+)%$/.exec(value);
  if (!pct) return Number(value) || 0;
  const raw = (Number(pct[1]) * total) / 100;
  return roundUp ? Math.ceil(raw) : Math.floor(raw);
}

export function podsOfBudget(pdb: PodDisruptionBudget, pods: readonly Pod[]): Pod[] {
  const reqs = fromSpecSelector(pdb.spec.selector);
  return pods.filter(
    (p) =>
      p.metadata.namespace === pdb.metadata.namespace &&
      reqs.length > 0 &&
      matchesLabels(reqs, p.metadata.labels),
  );
}

export function budgetState(pdb: PodDisruptionBudget, pods: readonly Pod[]): BudgetState {
  const matched = podsOfBudget(pdb, pods);
  const expectedPods = matched.length;
  const currentHealthy = matched.filter(isPodReady).length;
  let desiredHealthy = 0;
  if (pdb.spec.minAvailable !== undefined)
    desiredHealthy = resolve(pdb.spec.minAvailable, expectedPods, true);
  else if (pdb.spec.maxUnavailable !== undefined) {
    desiredHealthy = expectedPods - resolve(pdb.spec.maxUnavailable, expectedPods, true);
  }
  return {
    expectedPods,
    currentHealthy,
    desiredHealthy,
    disruptionsAllowed: Math.max(0, currentHealthy - desiredHealthy),
  };
}
