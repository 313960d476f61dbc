import { describe, expect, it } from 'vitest';
import { jsonPatch, mergePatch, patchTypeOf, strategicMergePatch } from '../../../sim/api/patch.ts';

describe('JSON merge patch', () => {
  it('merges maps, replaces lists and deletes keys set to null', () => {
    const target = { a: { b: 1, c: 2 }, list: [1, 2], gone: true };
    expect(mergePatch(target, { a: { c: 3 }, list: [9], gone: null })).toEqual({
      a: { b: 1, c: 3 },
      list: [9],
    });
  });
});

describe('strategic merge patch', () => {
  const deployment = {
    spec: {
      template: {
        metadata: { labels: { app: 'web' } },
        spec: {
          containers: [
            { name: 'web', image: 'web:1', env: [{ name: 'A', value: '1' }] },
            { name: 'sidecar', image: 'proxy:1' },
          ],
        },
      },
    },
  };

  it('merges containers by name instead of replacing the list (kubectl set image)', () => {
    const out = strategicMergePatch(deployment, {
      spec: { template: { spec: { containers: [{ name: 'web', image: 'web:2' }] } } },
    }) as typeof deployment;
    expect(out.spec.template.spec.containers.map((c) => `${c.name}=${c.image}`)).toEqual([
      'web=web:2',
      'sidecar=proxy:1',
    ]);
    expect(out.spec.template.spec.containers[0]?.env).toEqual([{ name: 'A', value: '1' }]);
  });

  it('adds a template annotation the way rollout restart does, keeping labels', () => {
    const out = strategicMergePatch(deployment, {
      spec: { template: { metadata: { annotations: { 'kubectl.kubernetes.io/restartedAt': 'now' } } } },
    }) as { spec: { template: { metadata: Record<string, unknown> } } };
    expect(out.spec.template.metadata).toEqual({
      labels: { app: 'web' },
      annotations: { 'kubectl.kubernetes.io/restartedAt': 'now' },
    });
  });

  it('deletes list items with $patch: delete and ignores ordering directives', () => {
    const out = strategicMergePatch(deployment, {
      spec: {
        template: {
          spec: {
            $setElementOrder: [{ name: 'web' }],
            containers: [{ name: 'sidecar', $patch: 'delete' }],
          },
        },
      },
    }) as typeof deployment;
    expect(out.spec.template.spec.containers.map((c) => c.name)).toEqual(['web']);
    expect(Object.keys(out.spec.template.spec)).toEqual(['containers']);
  });

  it('merges node taints by key (kubectl taint / cordon style patches)', () => {
    const node = { spec: { taints: [{ key: 'a', effect: 'NoSchedule' }] } };
    const out = strategicMergePatch(node, {
      spec: { unschedulable: true, taints: [{ key: 'b', effect: 'NoExecute' }] },
    });
    expect(out).toEqual({
      spec: {
        unschedulable: true,
        taints: [
          { key: 'a', effect: 'NoSchedule' },
          { key: 'b', effect: 'NoExecute' },
        ],
      },
    });
  });
});

describe('JSON patch', () => {
  it('applies replace, add, remove, move, copy and test in order', () => {
    const doc = { metadata: { annotations: { a: '1' } }, spec: { replicas: 1, list: ['x'] } };
    const out = jsonPatch(doc, [
      { op: 'test', path: '/spec/replicas', value: 1 },
      { op: 'replace', path: '/spec/replicas', value: 3 },
      { op: 'add', path: '/spec/list/-', value: 'y' },
      { op: 'add', path: '/metadata/annotations/b~1c', value: '2' },
      { op: 'copy', from: '/spec/replicas', path: '/spec/copied' },
      { op: 'move', from: '/metadata/annotations/a', path: '/metadata/moved' },
      { op: 'remove', path: '/spec/list/0' },
    ]);
    expect(out).toEqual({
      metadata: { annotations: { 'b/c': '2' }, moved: '1' },
      spec: { replicas: 3, list: ['y'], copied: 3 },
    });
    expect(doc.spec.replicas).toBe(1);
  });

  it('fails a failed test operation with 422 and leaves the document alone', () => {
    expect(() => jsonPatch({ a: 1 }, [{ op: 'test', path: '/a', value: 2 }])).toThrow(
      'testing value /a failed',
    );
    expect(() => jsonPatch({ a: 1 }, [{ op: 'replace', path: '/b', value: 2 }])).toThrow(/missing/);
  });

  it('recognises the three patch content types and nothing else', () => {
    expect(patchTypeOf('application/merge-patch+json')).toBe('merge');
    expect(patchTypeOf('application/strategic-merge-patch+json; charset=utf-8')).toBe('strategic');
    expect(patchTypeOf('application/json-patch+json')).toBe('json');
    expect(patchTypeOf('application/apply-patch+yaml')).toBeUndefined();
  });
});
