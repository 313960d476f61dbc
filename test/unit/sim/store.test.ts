import { describe, expect, it } from 'vitest';
import { resourceByKind } from '../../../sim/api/resources.ts';
import { Store, type StoreEvent } from '../../../sim/api/store.ts';
import { createRandom } from '../../../sim/random.ts';

const NS = resourceByKind('Namespace');
const CM = resourceByKind('ConfigMap');
const DEPLOY = resourceByKind('Deployment');
const RS = resourceByKind('ReplicaSet');

function store(historySize = 100): Store {
  const s = new Store({ random: createRandom(1), historySize });
  s.create(NS, { apiVersion: 'v1', kind: 'Namespace', metadata: { name: 'default' } });
  return s;
}

describe('object store', () => {
  it('gives every write a larger resourceVersion and fills uid, timestamp and generateName', () => {
    const s = store();
    const a = s.create(CM, {
      apiVersion: 'v1',
      kind: 'ConfigMap',
      metadata: { name: '', generateName: 'cm-' },
    });
    const b = s.create(CM, { apiVersion: 'v1', kind: 'ConfigMap', metadata: { name: 'b' } });
    expect(a.metadata.name).toMatch(/^cm-[a-z0-9]{5}$/);
    expect(a.metadata.uid).toMatch(/^[0-9a-f-]{36}$/);
    expect(a.metadata.creationTimestamp).toMatch(/Z$/);
    expect(Number(b.metadata.resourceVersion)).toBeGreaterThan(Number(a.metadata.resourceVersion));
  });

  it('rejects a stale update with 409 Conflict and keeps no-op updates quiet', () => {
    const s = store();
    const a = s.create(CM, {
      apiVersion: 'v1',
      kind: 'ConfigMap',
      metadata: { name: 'a' },
      data: { k: '1' },
    });
    const updated = s.update(CM, { ...a, data: { k: '2' } });
    expect(() => s.update(CM, { ...a, data: { k: '3' } })).toThrow(/the object has been modified/);
    const same = s.update(CM, updated);
    expect(same.metadata.resourceVersion).toBe(updated.metadata.resourceVersion);
  });

  it('answers duplicate names with AlreadyExists and missing namespaces with NotFound', () => {
    const s = store();
    s.create(CM, { apiVersion: 'v1', kind: 'ConfigMap', metadata: { name: 'a' } });
    expect(() => s.create(CM, { apiVersion: 'v1', kind: 'ConfigMap', metadata: { name: 'a' } })).toThrow(
      'configmaps "a" already exists',
    );
    expect(() =>
      s.create(CM, { apiVersion: 'v1', kind: 'ConfigMap', metadata: { name: 'x', namespace: 'nope' } }),
    ).toThrow('namespaces "nope" not found');
  });

  it('bumps generation only when the spec changes', () => {
    const s = store();
    const d = s.create(DEPLOY, {
      apiVersion: 'apps/v1',
      kind: 'Deployment',
      metadata: { name: 'd' },
      spec: { replicas: 1 },
    });
    const labelled = s.update(DEPLOY, { ...d, metadata: { ...d.metadata, labels: { a: 'b' } } });
    expect(labelled.metadata.generation).toBe(1);
    const scaled = s.update(DEPLOY, { ...labelled, spec: { replicas: 2 } });
    expect(scaled.metadata.generation).toBe(2);
  });

  it('garbage-collects dependents of a deleted owner, unless orphaning', () => {
    const s = store();
    const d = s.create(DEPLOY, {
      apiVersion: 'apps/v1',
      kind: 'Deployment',
      metadata: { name: 'd' },
      spec: {},
    });
    const ref = {
      apiVersion: 'apps/v1',
      kind: 'Deployment',
      name: 'd',
      uid: d.metadata.uid ?? '',
      controller: true,
    };
    s.create(RS, {
      apiVersion: 'apps/v1',
      kind: 'ReplicaSet',
      metadata: { name: 'rs1', ownerReferences: [ref] },
      spec: {},
    });
    s.delete(DEPLOY, 'default', 'd');
    expect(s.tryGet(RS, 'default', 'rs1')).toBeUndefined();

    const d2 = s.create(DEPLOY, {
      apiVersion: 'apps/v1',
      kind: 'Deployment',
      metadata: { name: 'd2' },
      spec: {},
    });
    s.create(RS, {
      apiVersion: 'apps/v1',
      kind: 'ReplicaSet',
      metadata: { name: 'rs2', ownerReferences: [{ ...ref, name: 'd2', uid: d2.metadata.uid ?? '' }] },
      spec: {},
    });
    s.delete(DEPLOY, 'default', 'd2', 'Orphan');
    expect(s.tryGet(RS, 'default', 'rs2')?.metadata.ownerReferences).toBeUndefined();
  });

  it('replays history after a resourceVersion and answers 410 once it is compacted', () => {
    const s = store(5);
    const start = s.currentVersion();
    const seen: StoreEvent[] = [];
    s.subscribe((e) => seen.push(e));
    for (let i = 0; i < 3; i++)
      s.create(CM, { apiVersion: 'v1', kind: 'ConfigMap', metadata: { name: `c${i}` } });
    expect(s.eventsSince(CM, start).map((e) => e.object.metadata.name)).toEqual(['c0', 'c1', 'c2']);
    expect(seen).toHaveLength(3);
    for (let i = 3; i < 10; i++)
      s.create(CM, { apiVersion: 'v1', kind: 'ConfigMap', metadata: { name: `c${i}` } });
    expect(() => s.eventsSince(CM, start)).toThrow(/too old resource version/);
  });

  it('pages lists with limit and continue', () => {
    const s = store();
    for (let i = 0; i < 5; i++)
      s.create(CM, { apiVersion: 'v1', kind: 'ConfigMap', metadata: { name: `c${i}` } });
    const first = s.list(CM, {}, 2);
    expect(first.items.map((o) => o.metadata.name)).toEqual(['c0', 'c1']);
    expect(first.remainingItemCount).toBe(3);
    const rest = s.list(CM, {}, 10, first.continueToken);
    expect(rest.items.map((o) => o.metadata.name)).toEqual(['c2', 'c3', 'c4']);
    expect(rest.continueToken).toBeUndefined();
  });
});
