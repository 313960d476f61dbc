// Disruption controller: keeps PodDisruptionBudget status (expected, healthy, allowed) current.
import { budgetState } from '../api/disruption.ts';
import { resourceByKind } from '../api/resources.ts';
import type { Store } from '../api/store.ts';
import type { Pod, PodDisruptionBudget } from '../api/types.ts';
import { isActive } from './owners.ts';

const PDB = resourceByKind('PodDisruptionBudget');
const POD = resourceByKind('Pod');

export function reconcileDisruptionBudgets(store: Store): void {
  for (const pdb of store.peek<PodDisruptionBudget>(PDB)) {
    const pods = store.peek<Pod>(POD, { namespace: pdb.metadata.namespace ?? 'default' }).filter(isActive);
    const s = budgetState(pdb, pods);
    const status = { ...s, observedGeneration: pdb.metadata.generation ?? 1 };
    if (JSON.stringify(status) === JSON.stringify(pdb.status)) continue;
    const fresh = store.get<PodDisruptionBudget>(PDB, pdb.metadata.namespace, pdb.metadata.name);
    fresh.status = status;
    store.update(PDB, fresh, 'status');
  }
}
