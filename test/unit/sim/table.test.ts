import { describe, expect, it } from 'vitest';
import { resourceByKind } from '../../../sim/api/resources.ts';
import { humanDuration, toTable, wantsTable } from '../../../sim/api/table.ts';
import type { Pod } from '../../../sim/api/types.ts';

describe('server-side printing', () => {
  it('formats ages like the API server', () => {
    expect(humanDuration(45_000)).toBe('45s');
    expect(humanDuration(119_000)).toBe('119s');
    expect(humanDuration(185_000)).toBe('3m5s');
    expect(humanDuration(600_000)).toBe('10m');
    expect(humanDuration(3 * 3600_000 + 20 * 60_000)).toBe('3h20m');
    expect(humanDuration(30 * 3600_000)).toBe('30h');
    expect(humanDuration(3 * 86400_000)).toBe('3d');
  });

  it('prints a crash-looping pod with its waiting reason and restarts', () => {
    const now = Date.UTC(2026, 0, 1, 0, 10);
    const pod: Pod = {
      apiVersion: 'v1',
      kind: 'Pod',
      metadata: { name: 'p', namespace: 'shop', creationTimestamp: '2026-01-01T00:00:00Z' },
      spec: { nodeName: 'node-1', containers: [{ name: 'c', image: 'i' }] },
      status: {
        phase: 'Running',
        podIP: '10.244.1.2',
        containerStatuses: [
          {
            name: 'c',
            image: 'i',
            imageID: '',
            ready: false,
            restartCount: 3,
            state: { waiting: { reason: 'CrashLoopBackOff' } },
            lastState: { terminated: { exitCode: 1, reason: 'Error', finishedAt: '2026-01-01T00:09:30Z' } },
          },
        ],
      },
    };
    const table = toTable(resourceByKind('Pod'), [pod], '7', 'Metadata', now) as {
      columnDefinitions: Array<{ name: string; priority: number }>;
      rows: Array<{ cells: unknown[]; object: { kind: string } }>;
    };
    expect(table.columnDefinitions.filter((c) => c.priority === 0).map((c) => c.name)).toEqual([
      'Name',
      'Ready',
      'Status',
      'Restarts',
      'Age',
    ]);
    expect(table.rows[0]?.cells).toEqual([
      'p',
      '0/1',
      'CrashLoopBackOff',
      '3 (30s ago)',
      '10m',
      '10.244.1.2',
      'node-1',
      '<none>',
      '<none>',
    ]);
    expect(table.rows[0]?.object.kind).toBe('PartialObjectMetadata');
  });

  it('recognises the Accept header kubectl sends for tables', () => {
    expect(
      wantsTable(
        'application/json;as=Table;v=v1;g=meta.k8s.io,application/json;as=Table;v=v1beta1;g=meta.k8s.io,application/json',
      ),
    ).toBe(true);
    expect(wantsTable('application/json')).toBe(false);
  });
});
