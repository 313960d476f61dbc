import { create } from '@bufbuild/protobuf';
import { pino } from 'pino';
import { describe, expect, it } from 'vitest';
import { createIncidentEngine } from '../../../aggregator/correlate/engine.ts';
import type { Incident } from '../../../aggregator/correlate/incident.ts';
import type { ActionExecutor, RemediationAction } from '../../../aggregator/remediate/action.ts';
import { AgentExecutor } from '../../../aggregator/remediate/agent-commands.ts';
import { AuditTrail } from '../../../aggregator/remediate/audit.ts';
import { RemediationPlanner } from '../../../aggregator/remediate/planner.ts';
import { PolicyError, parsePolicy } from '../../../aggregator/remediate/policy.ts';
import {
  type Command,
  type CommandResult,
  CommandResultSchema,
  CommandStatus,
} from '../../../proto/gen/vigil/v1/gateway_pb.js';
import { StaticTopology } from '../../support/static-topology.ts';
import { podSubject, signal, T0 } from './fixtures.ts';

const logger = pino({ level: 'silent' });

class RecordingExecutor implements ActionExecutor {
  readonly done: RemediationAction[] = [];
  async execute(action: RemediationAction) {
    this.done.push(structuredClone(action));
    return { ok: true, message: 'done' };
  }
}

function policy(extra = '') {
  return parsePolicy(`
defaultMode: auto
guardrails:
  cooldownSeconds: 600
  rateLimit: { actions: 3, perSeconds: 300 }
  maxActionsPerIncident: 2
  approvalTimeoutSeconds: 60
  verifySeconds: 60
rules:
  - name: oom
    match: { kinds: [oom_kill] }
    actions: [{ type: pod.restart }]
${extra}`);
}

/** An open incident on node-5 ranked on `causes`, first the top one: what the planner reads. */
function incident(causes: Array<{ kind: string; object: string }>): Incident {
  return {
    id: 'inc-1',
    status: 'open',
    title: causes[0]?.object ?? '',
    severity: 'critical',
    openedMs: T0,
    updatedMs: T0,
    lastSignalMs: T0,
    firstSignalMs: T0,
    signalCount: 3,
    groups: [],
    nodes: ['node-5'],
    namespaces: ['shop'],
    rootCauses: causes.map((c, i) => ({ ...c, score: 0.6 - i / 10, reasons: [], firstMs: T0 })),
    timeline: [],
    actions: [],
    version: 1,
  };
}

describe('remediation guardrails', () => {
  it('holds under an incident storm: protected namespaces, opt-out, cooldown and the global rate limit', async () => {
    const topo = new StaticTopology();
    for (let i = 0; i < 10; i++) {
      topo.addPod({
        namespace: 'shop',
        name: `db-${i}`,
        node: `node-${i % 3}`,
        workload: `StatefulSet/shop/db${i}`,
      });
      topo.addPod({ namespace: 'kube-system', name: `coredns-${i}`, node: `node-${i % 3}` });
    }
    topo.addPod({
      namespace: 'shop',
      name: 'keep-me',
      node: 'node-1',
      labels: { 'vigil.io/remediation': 'off' },
    });
    let now = T0;
    const kube = new RecordingExecutor();
    const engine = createIncidentEngine({ topology: topo, logger, clock: () => now, policy: policy(), kube });
    const storm = [
      ...Array.from({ length: 10 }, (_, i) =>
        signal('pod.oom_killed', podSubject('kube-system', `coredns-${i}`, 'n'), i, { severity: 'critical' }),
      ),
      signal('pod.oom_killed', podSubject('shop', 'keep-me', 'node-1'), 1, { severity: 'critical' }),
      ...Array.from({ length: 10 }, (_, i) =>
        signal('pod.oom_killed', podSubject('shop', `db-${i}`, 'n'), i, { severity: 'critical' }),
      ),
    ];
    for (const s of storm) {
      now = s.timeMs;
      engine.ingestSignals([s]);
    }
    await engine.idle();
    expect(engine.stats().open).toBe(21);
    // Nothing in kube-system, nothing opted out, and no more than the rate limit in its window.
    expect(kube.done.every((a) => a.target.namespace === 'shop' && a.target.name !== 'keep-me')).toBe(true);
    expect(kube.done).toHaveLength(3);
    const blocked = engine.audit({ decision: 'blocked' });
    const reasons = new Set(blocked.map((e) => e.guardrail));
    expect(reasons).toEqual(new Set(['protected-namespace', 'opt-out', 'rate-limit']));
    // A repeat OOM of a pod acted on a moment ago is held by its cooldown even after the rate window.
    now += 301_000;
    engine.ingestSignals([
      signal('pod.oom_killed', podSubject('shop', 'db-0', 'n'), 400, { severity: 'critical' }),
    ]);
    engine.resolve(engine.incidents().find((i) => i.groups[0]?.subject.pod === 'db-0')?.id ?? '', 'test');
    now += 1000;
    engine.ingestSignals([
      signal('pod.oom_killed', podSubject('shop', 'db-0', 'n'), 402, { severity: 'critical' }),
    ]);
    await engine.idle();
    expect(
      engine
        .audit({ decision: 'blocked' })
        .some((e) => e.guardrail === 'cooldown' && e.target === 'Pod/shop/db-0'),
    ).toBe(true);
    expect(kube.done.filter((a) => a.target.name === 'db-0')).toHaveLength(1);
  });

  it('blocks a pod restart when too few of the workload’s other pods are healthy', async () => {
    const topo = new StaticTopology();
    for (let i = 0; i < 4; i++) {
      topo.addPod({
        namespace: 'shop',
        name: `api-${i}`,
        node: 'node-1',
        workload: 'Deployment/shop/api',
        ready: i === 0,
      });
    }
    const kube = new RecordingExecutor();
    const engine = createIncidentEngine({ topology: topo, logger, clock: () => T0, policy: policy(), kube });
    engine.ingestSignals([
      signal('pod.oom_killed', podSubject('shop', 'api-0', 'node-1'), 0, { severity: 'critical' }),
    ]);
    await engine.idle();
    expect(kube.done).toHaveLength(0);
    expect(engine.audit({ decision: 'blocked' })[0]?.guardrail).toBe('min-healthy');
  });

  it('does nothing when an approval times out, and refuses a late approval', async () => {
    const topo = new StaticTopology().addPod({ namespace: 'shop', name: 'db-0', node: 'node-1' });
    let now = T0;
    const kube = new RecordingExecutor();
    const engine = createIncidentEngine({
      topology: topo,
      logger,
      clock: () => now,
      policy: parsePolicy(`
defaultMode: approve
guardrails: { approvalTimeoutSeconds: 60 }
rules: [{ name: oom, match: { kinds: [oom_kill] }, actions: [{ type: pod.restart }] }]`),
      kube,
    });
    engine.ingestSignals([
      signal('pod.oom_killed', podSubject('shop', 'db-0', 'node-1'), 0, { severity: 'critical' }),
    ]);
    const [pending] = engine.actions({ status: 'pending_approval' });
    expect(pending?.type).toBe('pod.restart');
    now += 61_000;
    engine.tick(now);
    expect(engine.actions()[0]?.status).toBe('expired');
    await expect(engine.approve(pending?.id ?? '', 'alice')).rejects.toThrow(/expired/);
    await engine.idle();
    expect(kube.done).toHaveLength(0);
    expect(engine.audit({ decision: 'expired' })).toHaveLength(1);
  });

  it('runs an approved action once and verifies that the incident healed', async () => {
    const topo = new StaticTopology().addPod({ namespace: 'shop', name: 'db-0', node: 'node-1' });
    let now = T0;
    const kube = new RecordingExecutor();
    const engine = createIncidentEngine({
      topology: topo,
      logger,
      clock: () => now,
      policy: parsePolicy(`
defaultMode: approve
guardrails: { verifySeconds: 60 }
rules: [{ name: oom, match: { kinds: [oom_kill] }, actions: [{ type: pod.restart }] }]`),
      kube,
    });
    engine.ingestSignals([
      signal('pod.oom_killed', podSubject('shop', 'db-0', 'node-1'), 0, { severity: 'critical' }),
    ]);
    const [pending] = engine.actions({ status: 'pending_approval' });
    const approved = await engine.approve(pending?.id ?? '', 'alice');
    expect(approved.status).toBe('succeeded');
    expect(engine.incidents()[0]?.status).toBe('mitigating');
    now += 61_000;
    engine.tick(now);
    expect(engine.actions()[0]?.verification).toBe('healed');
    expect(kube.done).toHaveLength(1);
  });

  it('escalates to the next action when signals continue, then to a person', async () => {
    const topo = new StaticTopology().addPod({
      namespace: 'shop',
      name: 'api-0',
      node: 'node-1',
      workload: 'Deployment/shop/api',
    });
    let now = T0;
    const kube = new RecordingExecutor();
    const engine = createIncidentEngine({
      topology: topo,
      logger,
      clock: () => now,
      policy: parsePolicy(`
defaultMode: auto
guardrails: { verifySeconds: 60 }
rules: [{ name: oom, match: { kinds: [oom_kill] }, actions: [{ type: pod.restart }, { type: deployment.rollout_restart }] }]`),
      kube,
    });
    for (let t = 0; t <= 240; t += 10) {
      now = T0 + t * 1000;
      engine.ingestSignals([
        signal('pod.oom_killed', podSubject('shop', 'api-0', 'node-1'), t, { severity: 'critical' }),
      ]);
      engine.tick(now);
      await engine.idle();
    }
    expect(kube.done.map((a) => a.type)).toEqual(['pod.restart', 'deployment.rollout_restart']);
    expect(kube.done[1]?.target.object).toBe('Deployment/shop/api');
    expect(engine.audit({ decision: 'escalated' })).toHaveLength(1);
  });

  it('re-plans a ladder that ended without acting when the root cause changes, and not one that acted', async () => {
    // The demo's sequence: the database's memory grows its node's, so the incident is first ranked on the node's
    // memory; the OOM kill that explains it arrives seconds later and takes the lead.
    const nodeFirst = incident([{ kind: 'memory_leak', object: 'Node//node-5' }]);
    const oomNext = incident([
      { kind: 'oom_kill', object: 'Pod/shop/db-0' },
      { kind: 'memory_leak', object: 'Node//node-5' },
    ]);
    const run = async (leakAction: string) => {
      const kube = new RecordingExecutor();
      const agent = new RecordingExecutor();
      const audit = new AuditTrail();
      const planner = new RemediationPlanner({
        policy: parsePolicy(`
defaultMode: auto
rules:
  - { name: oom, match: { kinds: [oom_kill] }, actions: [{ type: pod.restart }] }
  - { name: leak, match: { kinds: [memory_leak] }, actions: [${leakAction}] }`),
        topology: new StaticTopology().addPod({ namespace: 'shop', name: 'db-0', node: 'node-5' }),
        clock: () => T0,
        logger,
        audit,
        kube,
        agent,
      });
      planner.consider(nodeFirst);
      await planner.idle();
      planner.consider(oomNext);
      await planner.idle();
      const actions = planner.actions().map((a) => `${a.type} ${a.target.object} ${a.status}`);
      return { kube, agent, audit, actions };
    };
    // No target for a node: the ladder ended at once, escalated; the OOM kill's restart runs all the same.
    const ended = await run('{ type: deployment.rollout_restart }');
    expect(ended.actions).toEqual([
      'deployment.rollout_restart Node//node-5 skipped',
      'pod.restart Pod/shop/db-0 succeeded',
    ]);
    expect(ended.audit.query({ decision: 'skipped' })[0]?.reason).toBe(
      'deployment.rollout_restart has no target for Node//node-5',
    );
    // A waiting approval is superseded by the new cause's ladder.
    const waiting = await run('{ type: agent.node_condition, mode: approve }');
    expect(waiting.actions).toEqual([
      'agent.node_condition Node//node-5 skipped',
      'pod.restart Pod/shop/db-0 succeeded',
    ]);
    // An action that ran keeps its ladder: one incident does not get a second remedy on a change of mind.
    const acted = await run('{ type: agent.node_condition, params: { type: VigilMemory, status: "True" } }');
    expect(acted.actions).toEqual(['agent.node_condition Node//node-5 succeeded']);
    expect(acted.kube.done).toHaveLength(0);
  });

  it('records a dry run without acting', async () => {
    const topo = new StaticTopology().addPod({ namespace: 'shop', name: 'db-0', node: 'node-1' });
    const kube = new RecordingExecutor();
    const engine = createIncidentEngine({
      topology: topo,
      logger,
      clock: () => T0,
      policy: parsePolicy(`
defaultMode: dry-run
rules: [{ name: oom, match: { kinds: [oom_kill] }, actions: [{ type: pod.restart }] }]`),
      kube,
    });
    engine.ingestSignals([
      signal('pod.oom_killed', podSubject('shop', 'db-0', 'node-1'), 0, { severity: 'critical' }),
    ]);
    await engine.idle();
    expect(kube.done).toHaveLength(0);
    expect(engine.audit({ decision: 'dry-run' })[0]?.reason).toBe('would pod.restart Pod/shop/db-0');
  });
});

describe('agent commands', () => {
  function fakeAgent() {
    const executed = new Map<string, CommandResult>();
    let calls = 0;
    const send = async (_node: string, command: Command): Promise<CommandResult> => {
      calls += 1;
      // The agent remembers ids: a command it has seen returns the first result and does not run again.
      let result = executed.get(command.id);
      if (!result) {
        result = create(CommandResultSchema, {
          id: command.id,
          status: CommandStatus.SUCCEEDED,
          message: 'freed 2 GiB',
        });
        executed.set(command.id, result);
        // The stream breaks after the agent ran the command, before the result reaches the aggregator.
        if (calls === 1) throw new Error('stream closed');
      }
      return result;
    };
    return { send, executed, calls: () => calls };
  }

  const action: RemediationAction = {
    id: 'act-1',
    incidentId: 'inc-1',
    rule: 'disk',
    type: 'agent.free_disk',
    target: { object: 'Node//node-2', name: 'node-2', node: 'node-2' },
    params: {},
    mode: 'auto',
    status: 'running',
    step: 0,
    createdMs: T0,
    updatedMs: T0,
    message: '',
  };

  it('retries a command whose stream broke mid-way with the same id, so it runs once', async () => {
    const agent = fakeAgent();
    let now = T0;
    const executor = new AgentExecutor(agent.send, {
      deadlineMs: 30_000,
      retryDelayMs: 1000,
      clock: () => now,
      sleep: async (ms) => {
        now += ms;
      },
    });
    const result = await executor.execute(action);
    expect(result.ok).toBe(true);
    expect(agent.calls()).toBe(2);
    expect(agent.executed.size).toBe(1);
  });

  it('reports a command failed when the agent stays away past the deadline', async () => {
    let now = T0;
    let calls = 0;
    const executor = new AgentExecutor(
      async () => {
        calls += 1;
        throw new Error('node-2 is not connected');
      },
      {
        deadlineMs: 10_000,
        retryDelayMs: 1000,
        clock: () => now,
        sleep: async (ms) => {
          now += ms;
        },
      },
    );
    const result = await executor.execute(action);
    expect(result.ok).toBe(false);
    expect(result.message).toMatch(/did not confirm logs.free_disk before its deadline/);
    expect(calls).toBeGreaterThan(1);
    expect(now - T0).toBeLessThanOrEqual(10_000);
  });
});

describe('policy files', () => {
  it('rejects an unknown action type with the field path and the value', () => {
    expect(() =>
      parsePolicy(
        'rules: [{ name: x, match: { kinds: [oom_kill] }, actions: [{ type: pod.explode }] }]',
        'p.yaml',
      ),
    ).toThrow(/p\.yaml: rules\.0\.actions\.0\.type: .*\(value: "pod\.explode"\)/);
  });

  it('rejects a bad mode and a bad regular expression', () => {
    expect(() => parsePolicy('modes: { pod.restart: sometimes }')).toThrow(PolicyError);
    expect(() =>
      parsePolicy(
        "rules: [{ name: x, match: { kinds: [a], object: '(' }, actions: [{ type: pod.restart }] }]",
      ),
    ).toThrow(/not a regular expression/);
  });

  it('loads the shipped default policy', async () => {
    const { loadPolicy } = await import('../../../aggregator/remediate/policy.ts');
    const p = loadPolicy(new URL('../../../policies/default.yaml', import.meta.url).pathname);
    expect(p.modes['pod.restart']).toBe('auto');
    expect(p.guardrails.protectedNamespaces).toContain('kube-system');
  });
});

describe('rollback planning', () => {
  const deployment = (paused = false) => ({
    metadata: {
      name: 'web',
      uid: 'd1',
      annotations: { 'deployment.kubernetes.io/revision': '2', team: 'a' },
    },
    spec: {
      paused,
      selector: { matchLabels: { app: 'web' } },
      template: {
        metadata: { labels: { app: 'web' } },
        spec: { containers: [{ name: 'web', image: 'web:2' }] },
      },
    },
  });
  const rs = (revision: number, image: string) => ({
    metadata: {
      name: `web-${revision}`,
      annotations: { 'deployment.kubernetes.io/revision': String(revision), note: `r${revision}` },
      ownerReferences: [
        { apiVersion: 'apps/v1', kind: 'Deployment', name: 'web', uid: 'd1', controller: true },
      ],
    },
    spec: {
      selector: { matchLabels: { app: 'web' } },
      template: {
        metadata: { labels: { app: 'web', 'pod-template-hash': `h${revision}` } },
        spec: { containers: [{ name: 'web', image }] },
      },
    },
  });

  it('patches the template and annotations from the previous revision', async () => {
    const { planRollback } = await import('../../../aggregator/remediate/rollback.ts');
    const plan = planRollback(deployment(), [rs(1, 'web:1'), rs(2, 'web:2')]);
    expect(plan).toMatchObject({ kind: 'patch', revision: 1 });
    if (plan.kind !== 'patch') throw new Error('no patch');
    expect(plan.patch[0]?.value).toEqual({
      metadata: { labels: { app: 'web' } },
      spec: { containers: [{ name: 'web', image: 'web:1' }] },
    });
    // The Deployment keeps its own revision annotation; the others come from the ReplicaSet.
    expect(plan.patch[1]?.value).toEqual({ 'deployment.kubernetes.io/revision': '2', note: 'r1' });
  });

  it('skips when the previous template already equals the current one, and refuses when paused or without history', async () => {
    const { planRollback } = await import('../../../aggregator/remediate/rollback.ts');
    expect(planRollback(deployment(), [rs(1, 'web:2'), rs(2, 'web:2')])).toMatchObject({
      kind: 'skip',
      message: 'skipped rollback (current template already matches revision 1)',
    });
    expect(planRollback(deployment(true), [rs(1, 'web:1'), rs(2, 'web:2')])).toMatchObject({
      kind: 'refuse',
    });
    expect(planRollback(deployment(), [rs(2, 'web:2')])).toMatchObject({
      kind: 'refuse',
      message: 'no rollout history found for deployment "web"',
    });
  });
});

describe('notify targets', () => {
  it('parses Alertmanager and PagerDuty targets and names what is wrong', async () => {
    const { parseNotifyTargets } = await import('../../../aggregator/notify/targets.ts');
    expect(
      parseNotifyTargets(
        'alertmanager=http://am:9093/hook, pagerduty=abc@https://events.pagerduty.com/v2/enqueue',
      ),
    ).toEqual([
      { format: 'alertmanager', url: 'http://am:9093/hook' },
      { format: 'pagerduty', url: 'https://events.pagerduty.com/v2/enqueue', routingKey: 'abc' },
    ]);
    expect(() => parseNotifyTargets('slack=http://x')).toThrow(/must start with alertmanager= or pagerduty=/);
    expect(() => parseNotifyTargets('pagerduty=https://x')).toThrow(/routing-key/);
    expect(() => parseNotifyTargets('alertmanager=ftp://x')).toThrow(/not an http\(s\) URL/);
  });
});

describe('agent command channel', () => {
  it('matches results by id and fails pending commands when the stream closes', async () => {
    const { createAgentChannel } = await import('../../../aggregator/remediate/agent-channel.ts');
    const { CommandSchema } = await import('../../../proto/gen/vigil/v1/gateway_pb.js');
    const channel = createAgentChannel({ graceMs: 50 });
    const sent: string[] = [];
    channel.onSession('node-1', (msg) => {
      if (msg.msg.case === 'command') sent.push(msg.msg.value.id);
      return true;
    });
    const command = create(CommandSchema, {
      id: 'act-1',
      action: 'logs.free_disk',
      deadlineMs: BigInt(Date.now() + 1000),
    });
    const first = channel.sendToAgent('node-1', command);
    channel.onCommandResult(
      'node-1',
      create(CommandResultSchema, { id: 'act-1', status: CommandStatus.SUCCEEDED }),
    );
    await expect(first).resolves.toMatchObject({ id: 'act-1', status: CommandStatus.SUCCEEDED });

    const second = channel.sendToAgent('node-1', create(CommandSchema, { ...command, id: 'act-2' }));
    channel.onSession('node-1', undefined);
    await expect(second).rejects.toThrow(/closed before the command result arrived/);
    await expect(channel.sendToAgent('node-1', command)).rejects.toThrow(/not connected/);
    expect(sent).toEqual(['act-1', 'act-2']);
    expect(channel.pending()).toBe(0);
  });
});

describe('verification', () => {
  it('does not call a node healed while it is still NotReady, and escalates to the next action', async () => {
    const topo = new StaticTopology().addNode('node-1').addNode('node-2').addNode('node-3');
    topo.setNode('node-3', { ready: false, conditions: { Ready: 'Unknown' } });
    let now = T0;
    const kube = new RecordingExecutor();
    const engine = createIncidentEngine({
      topology: topo,
      logger,
      clock: () => now,
      kube,
      policy: parsePolicy(`
defaultMode: auto
guardrails: { verifySeconds: 60, minHealthyFraction: 0.5 }
rules: [{ name: nnr, match: { kinds: [node_not_ready] }, actions: [{ type: node.cordon }, { type: node.drain }] }]`),
    });
    engine.ingestSignals([
      signal('node.condition', { kind: 'node', node: 'node-3' }, 0, {
        severity: 'critical',
        explanation: 'node node-3: Ready=Unknown (NodeStatusUnknown)',
        evidence: { attributes: { condition: 'Ready', status: 'Unknown' } },
      }),
    ]);
    await engine.idle();
    now += 61_000;
    engine.tick(now);
    await engine.idle();
    expect(kube.done.map((a) => a.type)).toEqual(['node.cordon', 'node.drain']);
    expect(engine.actions()[0]?.verification).toBe('not_healed');
    expect(engine.audit({ decision: 'verified' })[0]?.reason).toMatch(/still unhealthy/);
  });
});
