// The simulated kubelet and controllers stepped on a fake clock: no timers, no sleeps.
import { describe, expect, it } from 'vitest';
import { createLogger } from '../../../common/log.ts';
import { resourceByKind } from '../../../sim/api/resources.ts';
import { Store } from '../../../sim/api/store.ts';
import type { Pod } from '../../../sim/api/types.ts';
import { createClock } from '../../../sim/clock.ts';
import { bootstrapCluster } from '../../../sim/cluster.ts';
import {
  type BehaviourSource,
  type ContainerBehaviour,
  DEFAULT_BEHAVIOUR,
} from '../../../sim/controllers/behaviour.ts';
import { EventRecorder } from '../../../sim/controllers/events.ts';
import { ControllerManager } from '../../../sim/controllers/manager.ts';
import { RuntimeRegistry } from '../../../sim/controllers/runtime.ts';
import { createNodeModel } from '../../../sim/node/model.ts';
import { createRandom } from '../../../sim/random.ts';

const POD = resourceByKind('Pod');
const EVENT = resourceByKind('Event');

function cluster(behaviour: Partial<ContainerBehaviour>) {
  let now = Date.UTC(2026, 0, 1);
  const clock = createClock(1, () => now);
  const random = createRandom(9);
  const store = new Store({ random, now: () => now });
  const nodes = [createNodeModel('node-1', 1, 'worker')];
  bootstrapCluster(store, nodes, [], now);
  const behaviours: BehaviourSource = {
    behaviour: () => ({ ...DEFAULT_BEHAVIOUR, startDelayMs: 0, readinessDelayMs: 0, ...behaviour }),
  };
  const manager = new ControllerManager({
    store,
    clock,
    random,
    events: new EventRecorder(store, clock),
    runtimes: new RuntimeRegistry(),
    behaviours,
    nodes,
    logger: createLogger('t', 'silent'),
  });
  store.create(POD, {
    apiVersion: 'v1',
    kind: 'Pod',
    metadata: { name: 'p', namespace: 'default' },
    spec: { containers: [{ name: 'app', image: 'app:1', resources: { limits: { memory: '128Mi' } } }] },
  });
  const step = (ms: number, every = 250): void => {
    for (let t = 0; t < ms; t += every) {
      now += every;
      manager.tick();
    }
  };
  const pod = (): Pod => store.get<Pod>(POD, 'default', 'p');
  const reasons = (): string[] => store.peek(EVENT).map((e) => String(e.reason));
  return { step, pod, reasons };
}

describe('simulated kubelet', () => {
  it('schedules, starts and readies a pod with the scheduler and kubelet events', () => {
    const c = cluster({});
    c.step(1000);
    const p = c.pod();
    expect(p.spec.nodeName).toBe('node-1');
    expect(p.status?.phase).toBe('Running');
    expect(p.status?.conditions?.find((x) => x.type === 'Ready')?.status).toBe('True');
    expect(p.status?.containerStatuses?.[0]?.containerID).toMatch(/^containerd:\/\/[0-9a-f]{64}$/);
    expect(c.reasons()).toEqual(
      expect.arrayContaining(['Scheduled', 'Pulling', 'Pulled', 'Created', 'Started']),
    );
  });

  it('backs off crash-looping restarts 10 s, 20 s, 40 s and reports CrashLoopBackOff with lastState', () => {
    const c = cluster({ crashAfterMs: 500, exitCode: 2 });
    const restartsAt: number[] = [];
    let last = 0;
    for (let t = 0; t < 90_000; t += 250) {
      c.step(250);
      const rc = c.pod().status?.containerStatuses?.[0]?.restartCount ?? 0;
      if (rc > last) {
        restartsAt.push(t);
        last = rc;
      }
    }
    const gaps = restartsAt.slice(1).map((t, i) => t - (restartsAt[i] ?? 0));
    // Each gap is the back-off plus the 0.5 s the container runs before crashing again.
    expect(gaps.slice(0, 3).map((g) => Math.round(g / 1000))).toEqual([11, 21, 41]);
    const cs = c.pod().status?.containerStatuses?.[0];
    expect(cs?.state.waiting?.reason).toBe('CrashLoopBackOff');
    expect(cs?.state.waiting?.message).toMatch(
      /^back-off (\d+m)?\d+s restarting failed container=app pod=p_default\(/,
    );
    expect(cs?.lastState.terminated).toMatchObject({ exitCode: 2, reason: 'Error' });
    expect(c.reasons()).toContain('BackOff');
  });

  it('OOM-kills a container at its memory limit with exit code 137 and restarts it', () => {
    const c = cluster({
      memoryBaselineBytes: 100 * 2 ** 20,
      memoryNoiseBytes: 0,
      memoryLeakBytesPerSec: 10 * 2 ** 20,
    });
    c.step(5000);
    const cs = c.pod().status?.containerStatuses?.[0];
    expect(cs?.lastState.terminated).toMatchObject({ exitCode: 137, reason: 'OOMKilled' });
    expect(cs?.restartCount).toBe(1);
    expect(c.reasons()).toContain('SystemOOM');
  });

  it('keeps a pod whose image cannot be pulled in ImagePullBackOff', () => {
    const c = cluster({ pullError: true });
    c.step(3000);
    const cs = c.pod().status?.containerStatuses?.[0];
    expect(cs?.state.waiting?.reason).toBe('ImagePullBackOff');
    expect(c.pod().status?.phase).toBe('Pending');
    expect(c.reasons()).toEqual(expect.arrayContaining(['Failed', 'BackOff']));
  });
});
