// Helpers for controller ownership and pod health, shared by the workload controllers.
import type { KubeObject, OwnerReference, Pod } from '../api/types.ts';

export function controllerRef(owner: KubeObject): OwnerReference {
  return {
    apiVersion: owner.apiVersion,
    kind: owner.kind,
    name: owner.metadata.name,
    uid: owner.metadata.uid ?? '',
    controller: true,
    blockOwnerDeletion: true,
  };
}

export function isOwnedBy(obj: KubeObject, owner: KubeObject): boolean {
  return (obj.metadata.ownerReferences ?? []).some((r) => r.controller && r.uid === owner.metadata.uid);
}

export function isActive(pod: Pod): boolean {
  return (
    !pod.metadata.deletionTimestamp && pod.status?.phase !== 'Failed' && pod.status?.phase !== 'Succeeded'
  );
}

export function isReady(pod: Pod): boolean {
  return (pod.status?.conditions ?? []).some((c) => c.type === 'Ready' && c.status === 'True');
}

/** FNV-1a over the template, encoded like the pod-template-hash label (safe alphanumerics). */
export function templateHash(template: unknown): string {
  let h = 0x811c9dc5;
  const text = JSON.stringify(sortKeys(template));
  for (let i = 0; i < text.length; i++) {
    h ^= text.charCodeAt(i);
    h = Math.imul(h, 0x01000193) >>> 0;
  }
  const alphabet = 'bcdfghjklmnpqrstvwxz2456789';
  let out = '';
  let n = h;
  while (out.length < 10) {
    out += alphabet[n % alphabet.length];
    n = Math.floor(n / alphabet.length) || (h ^ (out.length * 2654435761)) >>> 0;
  }
  return out;
}

/** Sorted keys, with empty objects/lists dropped: a defaulted `resources: {}` is the same template. */
function sortKeys(v: unknown): unknown {
  if (Array.isArray(v)) return v.map(sortKeys);
  if (v === null || typeof v !== 'object') return v;
  const out: Record<string, unknown> = {};
  for (const k of Object.keys(v).sort()) {
    const x = sortKeys((v as Record<string, unknown>)[k]);
    if (x === null || x === undefined) continue;
    if (typeof x === 'object' && Object.keys(x).length === 0) continue;
    out[k] = x;
  }
  return out;
}
