// The agent's node-level remediation on real files, real LMDB and the simulator's Kubernetes API.
import { existsSync, mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { create, type MessageInitShape } from '@bufbuild/protobuf';
import { CoreV1Api, KubeConfig } from '@kubernetes/client-node';
import { afterAll, describe, expect, it } from 'vitest';
import { KubeConnection } from '../../../agent/kube-api/connection.ts';
import { kubeTargetFromFile } from '../../../agent/kube-api/target.ts';
import { CommandExecutor } from '../../../agent/remediate/command-executor.ts';
import { openLmdb } from '../../../common/store/lmdb.ts';
import { CommandSchema, CommandStatus } from '../../../proto/gen/vigil/v1/gateway_pb.js';
import { startSimulator } from '../../../sim/simulator.ts';
import { quietLogger, tempDir } from '../../support/in-process.ts';

const cleanup: Array<() => Promise<unknown>> = [];
afterAll(async () => {
  for (const c of cleanup.reverse()) await c();
});

type CommandInit = MessageInitShape<typeof CommandSchema>;

function command(id: string, action: string, extra: CommandInit = {}) {
  return create(CommandSchema, {
    id,
    action,
    deadlineMs: BigInt(Date.now() + 60_000),
    ...extra,
  } as CommandInit);
}

describe('agent command executor', () => {
  it('frees rotated logs of pods that are gone, once per command id, and remembers it across a restart', async () => {
    const host = tempDir('host');
    const gone = join(host, 'var/log/pods/shop_old-1_dead-uid/app');
    const live = join(host, 'var/log/pods/shop_api-1_live-uid/app');
    for (const d of [gone, live]) mkdirSync(d, { recursive: true });
    for (const f of ['0.log.20260101-000000', '0.log.20260101-010000.gz', '0.log'])
      writeFileSync(join(gone, f), 'x'.repeat(100));
    writeFileSync(join(live, '0.log.20260101-000000'), 'y');
    const dir = tempDir('agent');
    let store = openLmdb(join(dir, 'agent.mdb'), quietLogger);
    const make = () =>
      new CommandExecutor({
        root: store.root,
        node: 'n1',
        hostRoot: host,
        logger: quietLogger,
        livePodUids: () => new Set(['live-uid']),
        allowProcessKill: false,
      });
    const first = await make().handle(command('c1', 'logs.free_disk'));
    expect(first.status).toBe(CommandStatus.SUCCEEDED);
    expect(first.message).toMatch(/removed 2 rotated log files \(200 bytes\)/);
    expect(existsSync(join(gone, '0.log'))).toBe(true); // the current file is never touched
    expect(existsSync(join(live, '0.log.20260101-000000'))).toBe(true); // a live pod's rotated log stays

    // The same id again, even from a restarted agent: the first result, and nothing runs.
    writeFileSync(join(gone, '0.log.20260102-000000'), 'z');
    await store.root.close();
    store = openLmdb(join(dir, 'agent.mdb'), quietLogger);
    cleanup.push(() => store.root.close());
    const again = await make().handle(command('c1', 'logs.free_disk'));
    expect(again.message).toBe(first.message);
    expect(existsSync(join(gone, '0.log.20260102-000000'))).toBe(true);
  });

  it('never runs a command again whose stored result it cannot read, and prunes such records with old ones', async () => {
    const host = tempDir('host');
    const gone = join(host, 'var/log/pods/shop_old-1_dead-uid/app');
    mkdirSync(gone, { recursive: true });
    writeFileSync(join(gone, '0.log.20260101-000000'), 'x');
    const store = openLmdb(join(tempDir('agent'), 'agent.mdb'), quietLogger);
    cleanup.push(() => store.root.close());
    const results = store.root.openDB<unknown, string>({ name: 'commands', encoding: 'msgpack' });
    const now = Date.now();
    await results.put('damaged', 42);
    await results.put('old', {
      status: CommandStatus.SUCCEEDED,
      message: 'done',
      finishedMs: now - 2 * 86_400_000,
    });
    await results.put('recent', {
      status: CommandStatus.SUCCEEDED,
      message: 'done',
      finishedMs: now - 60_000,
    });
    const ex = new CommandExecutor({
      root: store.root,
      node: 'n1',
      hostRoot: host,
      logger: quietLogger,
      livePodUids: () => new Set(),
      allowProcessKill: false,
    });
    const r = await ex.handle(command('damaged', 'logs.free_disk'));
    expect(r.status).toBe(CommandStatus.FAILED);
    expect(r.message).toMatch(/stored result that cannot be read; it is not run again/);
    expect(existsSync(join(gone, '0.log.20260101-000000'))).toBe(true);
    expect(await ex.prune()).toBe(2);
    expect([...results.getKeys({})]).toEqual(['recent']);
  });

  it('does not start a command past its deadline, and refuses process kills unless opted in', async () => {
    const store = openLmdb(join(tempDir('agent'), 'agent.mdb'), quietLogger);
    cleanup.push(() => store.root.close());
    const ex = new CommandExecutor({
      root: store.root,
      node: 'n1',
      hostRoot: tempDir('h'),
      logger: quietLogger,
      allowProcessKill: false,
    });
    expect(
      (await ex.handle(command('late', 'logs.free_disk', { deadlineMs: BigInt(Date.now() - 1000) }))).status,
    ).toBe(CommandStatus.EXPIRED);
    const kill = await ex.handle(command('k', 'process.kill', { params: { pid: '4242' } }));
    expect(kill.status).toBe(CommandStatus.REJECTED);
    expect(kill.message).toMatch(/process\.kill is off/);
    expect((await ex.handle(command('other', 'node.cordon', { target: { node: 'n2' } }))).status).toBe(
      CommandStatus.REJECTED,
    );
  });

  it('cordons and taints its own node and sets a node condition through the Kubernetes API', async () => {
    const sim = await startSimulator({ scenario: 'default', root: tempDir('sim'), logger: quietLogger });
    cleanup.push(() => sim.stop());
    const kc = new KubeConfig();
    kc.loadFromFile(sim.kubeconfigPath);
    const node = sim.nodes.find((n) => !sim.controlPlaneNodes.includes(n))!;
    const store = openLmdb(join(tempDir('agent'), 'agent.mdb'), quietLogger);
    cleanup.push(() => store.root.close());
    // The agent's own client; the checks below read the node back through client-node.
    const kube = new KubeConnection(kubeTargetFromFile(sim.kubeconfigPath));
    cleanup.push(async () => kube.close());
    const ex = new CommandExecutor({
      root: store.root,
      node,
      hostRoot: sim.nodeRoot(node),
      logger: quietLogger,
      kube,
      allowProcessKill: false,
    });
    expect((await ex.handle(command('dry', 'node.cordon', { dryRun: true }))).status).toBe(
      CommandStatus.DRY_RUN,
    );
    const core = kc.makeApiClient(CoreV1Api);
    expect((await core.readNode({ name: node })).spec?.unschedulable).toBeFalsy();
    expect((await ex.handle(command('cordon', 'node.cordon'))).status).toBe(CommandStatus.SUCCEEDED);
    expect(
      (
        await ex.handle(
          command('taint', 'node.taint', { params: { key: 'vigil.io/disk', effect: 'NoSchedule' } }),
        )
      ).status,
    ).toBe(CommandStatus.SUCCEEDED);
    const cond = await ex.handle(
      command('cond', 'node.condition', { params: { type: 'VigilDiskFilling', status: 'True' } }),
    );
    expect(cond.status, cond.message).toBe(CommandStatus.SUCCEEDED);
    const after = await core.readNode({ name: node });
    expect(after.spec?.unschedulable).toBe(true);
    expect(after.spec?.taints).toContainEqual(
      expect.objectContaining({ key: 'vigil.io/disk', effect: 'NoSchedule' }),
    );
    expect(after.status?.conditions).toContainEqual(
      expect.objectContaining({ type: 'VigilDiskFilling', status: 'True' }),
    );
  });
});
