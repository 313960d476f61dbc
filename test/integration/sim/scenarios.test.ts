// Scenario runs end to end at a raised speed: the faults happen, and the node trees show what agents read.
import { existsSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { createLogger } from '../../../common/log.ts';
import { resourceByKind } from '../../../sim/api/resources.ts';
import type { Node, Pod } from '../../../sim/api/types.ts';
import { loadScenario, SCENARIO_DIR } from '../../../sim/scenario/load.ts';
import { type FaultEvent, type Simulator, startSimulator } from '../../../sim/simulator.ts';
import { waitFor } from './support.ts';

let sim: Simulator | undefined;
afterEach(async () => {
  const root = sim?.root;
  await sim?.stop();
  sim = undefined;
  if (root) rmSync(root, { recursive: true, force: true });
});

async function run(name: string, speed: number): Promise<{ sim: Simulator; faults: FaultEvent[] }> {
  const faults: FaultEvent[] = [];
  sim = await startSimulator({
    scenario: name,
    speed,
    tickMs: 100,
    logger: createLogger('sim-test', 'silent'),
  });
  sim.events.on('fault', (f: FaultEvent) => faults.push(f));
  return { sim, faults };
}

function grepLogs(root: string, node: string, pattern: RegExp): string[] {
  const base = join(root, node, 'var/log/pods');
  if (!existsSync(base)) return [];
  const out: string[] = [];
  for (const pod of readdirSync(base)) {
    for (const c of readdirSync(join(base, pod))) {
      for (const f of readdirSync(join(base, pod, c))) {
        for (const line of readFileSync(join(base, pod, c, f), 'utf8').split('\n'))
          if (pattern.test(line)) out.push(line);
      }
    }
  }
  return out;
}

describe('shipped scenarios', () => {
  it('all load and validate', () => {
    const names = readdirSync(SCENARIO_DIR).filter((f) => f.endsWith('.yaml'));
    expect(names.length).toBeGreaterThanOrEqual(8);
    for (const f of names) expect(() => loadScenario(f.replace(/\.yaml$/, ''))).not.toThrow();
  });

  it('default: db-0 is OOM-killed with exit 137 and clients on several nodes log connection errors naming db:5432', async () => {
    const { sim: s, faults } = await run('default', 5);
    const POD = resourceByKind('Pod');
    const oom = await waitFor(
      'db-0 OOMKilled',
      () => {
        const db = s.store.tryGet<Pod>(POD, 'shop', 'db-0');
        const last = db?.status?.containerStatuses?.[0]?.lastState.terminated;
        return last?.reason === 'OOMKilled' ? last : undefined;
      },
      30_000,
    );
    expect(oom.exitCode).toBe(137);
    expect(faults).toEqual([expect.objectContaining({ kind: 'oom_kill', object: 'Pod/shop/db-0' })]);
    expect(s.groundTruth).toEqual({ rootCause: { kind: 'oom_kill', object: 'Pod/shop/db-0' }, startsAt: 30 });
    const nodesWithErrors = await waitFor(
      'callers on 3+ nodes logging connection errors',
      () => {
        const nodes = s.nodes.filter(
          (n) =>
            grepLogs(s.root, n, /connection refused.*db:5432|db:5432: connect: connection refused/).length >
            0,
        );
        return nodes.length >= 3 ? nodes : undefined;
      },
      20_000,
    );
    expect(nodesWithErrors.length).toBeGreaterThanOrEqual(3);
    // The db's node shows the OOM in the pod's cgroup memory.events and a SystemOOM event.
    const db = s.store.get<Pod>(POD, 'shop', 'db-0');
    const slice = readdirSync(
      join(s.nodeRoot(db.spec.nodeName ?? ''), 'sys/fs/cgroup/kubepods.slice/kubepods-burstable.slice'),
    ).find((d) => d.includes((db.metadata.uid ?? '').replace(/-/g, '_')));
    expect(slice).toBeDefined();
    // Metric files are rewritten about once a second, so poll for the kill to show up.
    await waitFor(
      'oom_kill 1 in the pod slice memory.events',
      () =>
        /^oom_kill 1$/m.test(
          readFileSync(
            join(
              s.nodeRoot(db.spec.nodeName ?? ''),
              'sys/fs/cgroup/kubepods.slice/kubepods-burstable.slice',
              slice ?? '',
              'memory.events',
            ),
            'utf8',
          ),
        ),
      10_000,
    );
  });

  it('bad-rollout: the new ReplicaSet crash-loops with back-off and a panic in its log', async () => {
    const { sim: s } = await run('bad-rollout', 6);
    const POD = resourceByKind('Pod');
    const crashing = await waitFor(
      'a payments pod in CrashLoopBackOff',
      () =>
        s.store
          .peek<Pod>(POD, { namespace: 'shop' })
          .find((p) => p.status?.containerStatuses?.[0]?.state.waiting?.reason === 'CrashLoopBackOff'),
      40_000,
    );
    expect(crashing.spec.containers[0]?.image).toBe('shop/payments:2.0.0');
    expect(crashing.status?.containerStatuses?.[0]?.lastState.terminated).toMatchObject({
      exitCode: 1,
      reason: 'Error',
    });
    expect(
      grepLogs(s.root, crashing.spec.nodeName ?? '', /stderr F .*panic: runtime error/).length,
    ).toBeGreaterThan(0);
    const oldReady = s.store
      .peek<Pod>(POD, { namespace: 'shop' })
      .filter((p) => p.spec.containers[0]?.image === 'shop/payments:1.8.3');
    expect(
      oldReady.length,
      JSON.stringify(
        s.store
          .peek<Pod>(POD, { namespace: 'shop' })
          .map((p) => [p.metadata.name, p.spec.containers[0]?.image, p.status?.phase]),
      ),
    ).toBeGreaterThanOrEqual(3);
  });

  it('exec-privileged: exec and the privileged pod land in the control plane audit log', async () => {
    const { sim: s, faults } = await run('exec-privileged', 6);
    await waitFor('both faults', () => faults.length === 2, 30_000);
    const audit = readFileSync(join(s.nodeRoot('cp-1'), 'var/log/kube-apiserver/audit.log'), 'utf8')
      .trim()
      .split('\n')
      .map(
        (l) =>
          JSON.parse(l) as {
            verb: string;
            user: { username: string };
            objectRef: { subresource?: string; name?: string; resource: string };
            requestObject?: { spec?: { containers?: Array<{ securityContext?: { privileged?: boolean } }> } };
            apiVersion: string;
          },
      );
    const exec = audit.find((e) => e.objectRef.subresource === 'exec');
    expect(exec).toMatchObject({
      apiVersion: 'audit.k8s.io/v1',
      verb: 'create',
      user: { username: 'mallory' },
    });
    const created = audit.find(
      (e) => e.verb === 'create' && e.objectRef.resource === 'pods' && !e.objectRef.subresource,
    );
    expect(created?.requestObject?.spec?.containers?.[0]?.securityContext?.privileged).toBe(true);
    expect(faults.map((f) => f.object)).toEqual([
      expect.stringMatching(/^Pod\/shop\/api-/),
      'Pod/default/node-shell',
    ]);
  });

  it('node-not-ready: the node goes NotReady with unreachable taints and its pods are replaced elsewhere', async () => {
    const { sim: s } = await run('node-not-ready', 8);
    const NODE = resourceByKind('Node');
    const POD = resourceByKind('Pod');
    await waitFor(
      'node-3 NotReady',
      () => {
        const n = s.store.get<Node>(NODE, undefined, 'node-3');
        const ready = n.status?.conditions?.find((c) => c.type === 'Ready');
        return (
          ready?.status === 'Unknown' &&
          (n.spec.taints ?? []).some((t) => t.key === 'node.kubernetes.io/unreachable')
        );
      },
      30_000,
    );
    await waitFor(
      'api pods all ready off node-3',
      () => {
        const api = s.store.peek<Pod>(POD, {
          namespace: 'shop',
          labels: [{ op: 'eq', key: 'app', value: 'api' }],
        });
        const active = api.filter((p) => !p.metadata.deletionTimestamp);
        return (
          active.length === 8 &&
          active.every(
            (p) =>
              p.spec.nodeName !== 'node-3' &&
              p.status?.conditions?.some((c) => c.type === 'Ready' && c.status === 'True'),
          )
        );
      },
      40_000,
    );
  });

  it('ssh-bruteforce: failed passwords from one address on three nodes, then a success', async () => {
    const { sim: s } = await run('ssh-bruteforce', 8);
    await waitFor(
      'accepted login on node-2',
      () =>
        readFileSync(join(s.nodeRoot('node-2'), 'var/log/auth.log'), 'utf8').includes(
          'Accepted password for deploy from 203.0.113.77',
        ),
      30_000,
    );
    for (const n of ['node-1', 'node-2', 'node-3']) {
      const log = readFileSync(join(s.nodeRoot(n), 'var/log/auth.log'), 'utf8');
      const failures = log
        .split('\n')
        .filter((l) => / sshd\[\d+\]: Failed password for .* from 203\.0\.113\.77 port \d+ ssh2$/.test(l));
      expect(failures).toHaveLength(60);
    }
  });

  it('latency-spike: callers log timeouts naming the slow service and its pods flap readiness', async () => {
    const { sim: s } = await run('latency-spike', 8);
    const EVENT = resourceByKind('Event');
    await waitFor(
      'an Unhealthy readiness event on a search pod',
      () =>
        s.store
          .peek(EVENT, { namespace: 'shop' })
          .some(
            (e) =>
              e.reason === 'Unhealthy' &&
              String(e.message).startsWith('Readiness probe failed') &&
              String((e.involvedObject as { name?: string }).name).startsWith('search-'),
          ),
      40_000,
    );
    const timeouts = s.nodes.flatMap((n) =>
      grepLogs(
        s.root,
        n,
        /timeout calling search:9200 after \d+ms|504: upstream request timeout from search:9200/,
      ),
    );
    expect(timeouts.length).toBeGreaterThan(0);
  });

  it('disk-fill: DiskPressure with its taint, statfs free space collapsing, and an Evicted pod', async () => {
    const { sim: s } = await run('disk-fill', 8);
    const NODE = resourceByKind('Node');
    const POD = resourceByKind('Pod');
    const evicted = await waitFor(
      'an evicted pod on node-2',
      () =>
        s.store
          .peek<Pod>(POD, { namespace: 'shop' })
          .find((p) => p.status?.reason === 'Evicted' && p.spec.nodeName === 'node-2'),
      40_000,
    );
    expect(evicted.status?.phase).toBe('Failed');
    expect(evicted.status?.message).toMatch(/^The node was low on resource: ephemeral-storage\./);
    const node = s.store.get<Node>(NODE, undefined, 'node-2');
    expect(node.status?.conditions?.find((c) => c.type === 'DiskPressure')?.status).toBe('True');
    expect((node.spec.taints ?? []).map((t) => t.key)).toContain('node.kubernetes.io/disk-pressure');
    const statfs = await waitFor('statfs below 10% free', () => {
      const st = JSON.parse(readFileSync(join(s.nodeRoot('node-2'), '.sim/statfs.json'), 'utf8'))['/'] as {
        blocks: number;
        bfree: number;
      };
      return st.bfree / st.blocks < 0.1 ? st : undefined;
    });
    expect(statfs.bfree).toBeGreaterThanOrEqual(0);
  });

  it('dependency-down: the database crash-loops and callers log connection errors naming it', async () => {
    const { sim: s } = await run('dependency-down', 8);
    const POD = resourceByKind('Pod');
    await waitFor(
      'inventory-db-0 restarting with exit 1',
      () =>
        s.store.tryGet<Pod>(POD, 'shop', 'inventory-db-0')?.status?.containerStatuses?.[0]?.lastState
          .terminated?.exitCode === 1,
      40_000,
    );
    const errors = await waitFor('caller errors', () => {
      const lines = s.nodes.flatMap((n) => grepLogs(s.root, n, /inventory-db:5432/));
      return lines.length > 5 ? lines : undefined;
    });
    expect(errors.every((l) => / stderr F /.test(l))).toBe(true);
  });

  it('memory-leak: cart pods are OOM-killed repeatedly while their memory climbs', async () => {
    const { sim: s } = await run('memory-leak', 8);
    const POD = resourceByKind('Pod');
    await waitFor(
      'a cart pod OOM-killed twice',
      () =>
        s.store
          .peek<Pod>(POD, { namespace: 'shop', labels: [{ op: 'eq', key: 'app', value: 'cart' }] })
          .some(
            (p) =>
              (p.status?.containerStatuses?.[0]?.restartCount ?? 0) >= 2 &&
              p.status?.containerStatuses?.[0]?.lastState.terminated?.reason === 'OOMKilled',
          ),
      60_000,
    );
  });

  it('image-pull-failure: the new pods stay Pending in ImagePullBackOff while the old ones serve', async () => {
    const { sim: s } = await run('image-pull-failure', 8);
    const POD = resourceByKind('Pod');
    const stuck = await waitFor(
      'a cart pod in ImagePullBackOff',
      () =>
        s.store
          .peek<Pod>(POD, { namespace: 'shop' })
          .find((p) => p.status?.containerStatuses?.[0]?.state.waiting?.reason === 'ImagePullBackOff'),
      40_000,
    );
    expect(stuck.status?.phase).toBe('Pending');
    expect(stuck.spec.containers[0]?.image).toBe('shop/cart:4.2.0-rc1');
    const old = s.store
      .peek<Pod>(POD, { namespace: 'shop' })
      .filter((p) => p.spec.containers[0]?.image === 'shop/cart:4.1.0');
    expect(old.length).toBeGreaterThanOrEqual(3);
  });
});

describe('held faults (the live demo waits for its agents)', () => {
  it('starts the fault timeline at release: nothing before, each fault its `at` seconds after', async () => {
    const faults: FaultEvent[] = [];
    // default: db-0's OOM kill at +30 s; at speed 20 that is 1.5 s of real time after the timeline starts.
    sim = await startSimulator({
      scenario: 'default',
      speed: 20,
      tickMs: 50,
      holdFaults: true,
      logger: createLogger('sim-test', 'silent'),
    });
    const s = sim;
    s.events.on('fault', (f: FaultEvent) => faults.push(f));
    // Held for 3 s of real time: 60 simulated seconds, twice the fault's offset.
    await new Promise((r) => setTimeout(r, 3000));
    expect(faults).toEqual([]);
    expect(s.faultsOrigin()).toBeNull();
    s.releaseFaults();
    const origin = s.faultsOrigin();
    expect(origin).toBeGreaterThanOrEqual(60_000);
    const fault = await waitFor('the OOM kill after release', () => faults[0], 30_000);
    expect(fault).toMatchObject({ kind: 'oom_kill', object: 'Pod/shop/db-0' });
    // It came its offset after the release, not after the simulator's start.
    expect(fault.atSimSeconds * 1000 - origin!).toBeGreaterThanOrEqual(30_000);
    expect(fault.atSimSeconds * 1000 - origin!).toBeLessThan(40_000);
  });
});
