import type { V1ContainerStatus, V1Node, V1Pod } from '@kubernetes/client-node';
import { describe, expect, it } from 'vitest';
import { nodeSignals } from '../../../agent/sources/kube/node-signals.ts';
import { podSignals, ReadinessFlapTracker, workloadOf } from '../../../agent/sources/kube/pod-signals.ts';

function pod(
  status: Partial<V1ContainerStatus>,
  extra: Partial<V1Pod['status']> = {},
  ready = 'True',
): V1Pod {
  return {
    metadata: {
      name: 'payments-7f9c-abcde',
      namespace: 'shop',
      uid: 'u1',
      labels: { app: 'payments', 'pod-template-hash': '7f9c' },
      ownerReferences: [
        { apiVersion: 'apps/v1', kind: 'ReplicaSet', name: 'payments-7f9c', uid: 'rs', controller: true },
      ],
    },
    status: {
      conditions: [{ type: 'Ready', status: ready }],
      containerStatuses: [
        { name: 'app', image: 'shop/payments:1', imageID: '', ready: true, restartCount: 0, ...status },
      ],
      ...extra,
    },
  };
}

describe('pod signals', () => {
  it('names the Deployment behind a ReplicaSet', () => {
    expect(workloadOf(pod({}))).toBe('Deployment/payments');
  });

  it('reports an OOM kill when the container restarts after exit 137 OOMKilled', () => {
    const before = pod({ restartCount: 0 });
    const after = pod({
      restartCount: 1,
      lastState: { terminated: { exitCode: 137, reason: 'OOMKilled', finishedAt: new Date(5000) } },
    });
    const s = podSignals(before, after, 'node-7', 9000);
    expect(s).toHaveLength(1);
    expect(s[0]).toMatchObject({
      kind: 'pod.oom_killed',
      timeMs: 5000,
      subject: {
        kind: 'container',
        node: 'node-7',
        namespace: 'shop',
        pod: 'payments-7f9c-abcde',
        container: 'app',
        workload: 'Deployment/payments',
      },
    });
  });

  it('reports a recent OOM kill of a pod it sees for the first time, but not an old one', () => {
    const killed = pod({
      restartCount: 1,
      lastState: { terminated: { exitCode: 137, reason: 'OOMKilled', finishedAt: new Date(100_000) } },
    });
    expect(podSignals(undefined, killed, 'n', 130_000).map((x) => x.kind)).toEqual(['pod.oom_killed']);
    expect(podSignals(undefined, killed, 'n', 100_000 + 3_600_000)).toEqual([]);
  });

  it('reports a plain restart with its reason', () => {
    const s = podSignals(
      pod({ restartCount: 2 }),
      pod({ restartCount: 3, lastState: { terminated: { exitCode: 1, reason: 'Error' } } }),
      'n',
      1,
    );
    expect(s.map((x) => x.kind)).toEqual(['pod.restarted']);
    expect(s[0]!.explanation).toMatch(/restarted \(Error, exit 1\)/);
  });

  it('reports CrashLoopBackOff once, on the transition', () => {
    const looping = pod({ restartCount: 4, state: { waiting: { reason: 'CrashLoopBackOff' } } });
    expect(podSignals(pod({ restartCount: 4 }), looping, 'n', 1).map((x) => x.kind)).toEqual([
      'pod.crash_loop',
    ]);
    expect(podSignals(looping, looping, 'n', 2)).toEqual([]);
  });

  it('reports image pull failures and evictions', () => {
    expect(
      podSignals(pod({}), pod({ state: { waiting: { reason: 'ImagePullBackOff' } } }), 'n', 1)[0]?.kind,
    ).toBe('pod.image_pull_failed');
    const evicted = pod(
      {},
      { phase: 'Failed', reason: 'Evicted', message: 'The node was low on resource: memory.' },
    );
    expect(podSignals(pod({}), evicted, 'n', 1).map((x) => x.kind)).toEqual(['pod.evicted']);
  });

  it('says nothing for a status update that changes nothing that matters', () => {
    expect(podSignals(pod({ restartCount: 1 }), pod({ restartCount: 1 }), 'n', 1)).toEqual([]);
  });

  it('reports readiness flapping at the third transition within five minutes, once', () => {
    const t = new ReadinessFlapTracker();
    const up = pod({}, {}, 'True');
    const down = pod({}, {}, 'False');
    expect(t.observe(up, down, 'n', 0)).toBeUndefined();
    expect(t.observe(down, up, 'n', 60_000)).toBeUndefined();
    expect(t.observe(up, down, 'n', 120_000)?.kind).toBe('pod.readiness_flapping');
    expect(t.observe(down, up, 'n', 130_000)).toBeUndefined();
  });
});

describe('node signals', () => {
  const node = (conditions: Record<string, string>): V1Node => ({
    metadata: { name: 'node-3' },
    status: { conditions: Object.entries(conditions).map(([type, status]) => ({ type, status })) },
  });

  it('reports Ready going False and a pressure condition going True', () => {
    const s = nodeSignals(
      node({ Ready: 'True', DiskPressure: 'False' }),
      node({ Ready: 'False', DiskPressure: 'True' }),
      1,
    );
    expect(s.map((x) => [x.kind, x.evidence?.attributes?.['condition'], x.severity])).toEqual([
      ['node.condition', 'Ready', 'critical'],
      ['node.condition', 'DiskPressure', 'error'],
    ]);
  });

  it('stays quiet on a healthy node and on a condition that was already bad', () => {
    expect(nodeSignals(undefined, node({ Ready: 'True', MemoryPressure: 'False' }), 1)).toEqual([]);
    expect(nodeSignals(node({ Ready: 'False' }), node({ Ready: 'False' }), 1)).toEqual([]);
  });
});
