// `kubectl rollout undo` for Deployments, step for step (kubectl pkg/polymorphichelpers/rollback.go,
// DeploymentRollbacker): pick the previous revision's ReplicaSet (second-highest
// `deployment.kubernetes.io/revision` among the ReplicaSets the Deployment controls), refuse a paused
// Deployment, skip when that template already equals the current one (ignoring `pod-template-hash`), then
// send one JSON Patch replacing `/spec/template` and `/metadata/annotations`.
import type { V1Deployment, V1PodTemplateSpec, V1ReplicaSet } from '@kubernetes/client-node';

export const REVISION_ANNOTATION = 'deployment.kubernetes.io/revision';
const HASH_LABEL = 'pod-template-hash';
/** Annotations the Deployment keeps as its own; all others are copied from the ReplicaSet. */
const ANNOTATIONS_TO_SKIP = new Set([
  'kubectl.kubernetes.io/last-applied-configuration',
  REVISION_ANNOTATION,
  'deployment.kubernetes.io/revision-history',
  'deployment.kubernetes.io/desired-replicas',
  'deployment.kubernetes.io/max-replicas',
  'deprecated.deployment.rollback.to',
]);

export type RollbackPlan =
  | { kind: 'patch'; revision: number; patch: Array<{ op: 'replace'; path: string; value: unknown }> }
  | { kind: 'skip'; revision: number; message: string }
  | { kind: 'refuse'; message: string };

function revisionOf(rs: V1ReplicaSet): number {
  const v = Number(rs.metadata?.annotations?.[REVISION_ANNOTATION] ?? '0');
  return Number.isFinite(v) ? v : 0;
}

function controlledBy(rs: V1ReplicaSet, d: V1Deployment): boolean {
  return (rs.metadata?.ownerReferences ?? []).some((o) => o.controller && o.uid === d.metadata?.uid);
}

/** Key-sorted JSON, so two equal objects compare equal whatever order the server wrote their keys in. */
function canonical(value: unknown): string {
  return JSON.stringify(value, (_k, v: unknown) =>
    v && typeof v === 'object' && !Array.isArray(v)
      ? Object.fromEntries(
          Object.entries(v as Record<string, unknown>).sort(([a], [b]) => a.localeCompare(b)),
        )
      : v,
  );
}

function withoutHash(t: V1PodTemplateSpec | undefined): V1PodTemplateSpec {
  const copy = structuredClone(t ?? {}) as V1PodTemplateSpec;
  if (copy.metadata?.labels) {
    delete copy.metadata.labels[HASH_LABEL];
  }
  return copy;
}

export function planRollback(
  deployment: V1Deployment,
  replicaSets: V1ReplicaSet[],
  toRevision = 0,
): RollbackPlan {
  const name = deployment.metadata?.name ?? '?';
  if (deployment.spec?.paused) {
    return {
      kind: 'refuse',
      message: `you cannot rollback a paused deployment; resume it first with 'kubectl rollout resume' and try again`,
    };
  }
  const owned = replicaSets.filter((r) => controlledBy(r, deployment));
  // kubectl's "previous" is the second-highest revision among the ReplicaSets the Deployment controls.
  const revisions = [...new Set(owned.map(revisionOf))].filter((v) => v > 0).sort((a, b) => b - a);
  const previous = revisions[1];
  const exact = owned.find((r) => revisionOf(r) === toRevision);
  const previousRs = previous === undefined ? undefined : owned.find((r) => revisionOf(r) === previous);
  const rs = toRevision > 0 ? exact : previousRs;
  if (!rs) {
    return {
      kind: 'refuse',
      message:
        toRevision > 0
          ? `unable to find specified revision ${toRevision} in history`
          : `no rollout history found for deployment "${name}"`,
    };
  }
  const revision = revisionOf(rs);
  const template = withoutHash(rs.spec?.template);
  if (canonical(template) === canonical(withoutHash(deployment.spec?.template))) {
    return {
      kind: 'skip',
      revision,
      message: `skipped rollback (current template already matches revision ${revision})`,
    };
  }
  const annotations: Record<string, string> = {};
  for (const [k, v] of Object.entries(deployment.metadata?.annotations ?? {}))
    if (ANNOTATIONS_TO_SKIP.has(k)) annotations[k] = v;
  for (const [k, v] of Object.entries(rs.metadata?.annotations ?? {}))
    if (!ANNOTATIONS_TO_SKIP.has(k)) annotations[k] = v;
  return {
    kind: 'patch',
    revision,
    patch: [
      { op: 'replace', path: '/spec/template', value: template },
      { op: 'replace', path: '/metadata/annotations', value: annotations },
    ],
  };
}
