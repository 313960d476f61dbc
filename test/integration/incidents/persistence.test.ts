// Incidents survive an aggregator restart: a real `vigil aggregator` process gets signals through the agent
// gateway (as an agent sends them), opens an incident, is stopped (SIGTERM) and started again on the same
// state directory, and the incident API shows the same incident, which keeps correlating; a pending approval
// can still be approved; after a SIGKILL what was flushed — and every acknowledged summary — is back; a
// corrupt record is skipped. Then the engine with the real LMDB store: notifications, cooldowns, interrupted
// actions.
import { writeFileSync } from 'node:fs';
import { createServer } from 'node:http';
import { join } from 'node:path';
import { create, toBinary } from '@bufbuild/protobuf';
import { open } from 'lmdb';
import { pino } from 'pino';
import { afterAll, describe, expect, it } from 'vitest';
import { createIncidentEngine } from '../../../aggregator/correlate/engine.ts';
import { Notifier } from '../../../aggregator/notify/notifier.ts';
import type { ActionExecutor, ExecResult, RemediationAction } from '../../../aggregator/remediate/action.ts';
import { parsePolicy } from '../../../aggregator/remediate/policy.ts';
import { IncidentStore } from '../../../aggregator/store/incident-store.ts';
import { createClient, type ServiceClient } from '../../../common/grpc/adapter.ts';
import type { Signal } from '../../../common/signal.ts';
import { signalToWire } from '../../../common/signal-wire.ts';
import { openLmdb } from '../../../common/store/lmdb.ts';
import {
  AgentGatewayService,
  AgentMessageSchema,
  type AggregatorMessage,
} from '../../../proto/gen/vigil/v1/gateway_pb.js';
import {
  ApproveActionRequestSchema,
  GetIncidentRequestSchema,
  type Incident,
  IncidentService,
  ListActionsRequestSchema,
  ListAuditRequestSchema,
  ListIncidentsRequestSchema,
} from '../../../proto/gen/vigil/v1/incidents_pb.js';
import { SummarySchema } from '../../../proto/gen/vigil/v1/summary_pb.js';
import { tempDir } from '../../support/in-process.ts';
import { eventually, type Proc, startVigil } from '../../support/processes.ts';
import { StaticTopology } from '../../support/static-topology.ts';

interface Running {
  proc: Proc;
  api: ServiceClient<typeof IncidentService>;
  /** Sends signals as node-1's next summary and resolves once the aggregator acknowledged it. */
  send(signals: Signal[]): Promise<void>;
  stop(signal: NodeJS.Signals): Promise<number | null>;
}

const running = new Set<Running>();
afterAll(async () => {
  for (const r of running) await r.stop('SIGKILL');
});

/** node-1's last sequence: it carries on across aggregator restarts, as an agent's outbox does. */
let lastSeq = 0;

async function startAggregatorProcess(stateDir: string): Promise<Running> {
  const proc = startVigil(['aggregator'], {
    VIGIL_STATE_DIR: stateDir,
    VIGIL_GRPC_HOST: '127.0.0.1',
    VIGIL_GRPC_PORT: '0',
    VIGIL_HTTP_PORT: '0',
    VIGIL_POLICY_FILE: join(stateDir, 'policy.yaml'),
    VIGIL_LOG_LEVEL: 'info',
  });
  const started = await proc.waitFor((l) => l['msg'] === 'aggregator started', 30_000);
  const address = `127.0.0.1:${Number(started['grpcPort'])}`;
  const api = createClient(IncidentService, address);
  const gateway = createClient(AgentGatewayService, address);
  const stream = gateway.connect();
  let acked = 0;
  stream.on('data', (m: AggregatorMessage) => {
    if (m.msg.case === 'ack') acked = Math.max(acked, Number(m.msg.value.seq));
  });
  stream.on('error', () => undefined);
  const write = (msg: Parameters<typeof create<typeof AgentMessageSchema>>[1]) =>
    stream.write(create(AgentMessageSchema, msg));
  write({
    msg: { case: 'hello', value: { node: 'node-1', agentVersion: 'test', lastAckedSeq: BigInt(lastSeq) } },
  });
  const r: Running = {
    proc,
    api,
    async send(signals) {
      lastSeq += 1;
      const seq = lastSeq;
      const summary = create(SummarySchema, { node: 'node-1', signals: signals.map(signalToWire) });
      write({
        msg: {
          case: 'batch',
          value: {
            seq: BigInt(seq),
            summary: toBinary(SummarySchema, summary),
            createdMs: BigInt(Date.now()),
          },
        },
      });
      await eventually(() => acked >= seq, 10_000, `the ack of batch ${seq}`);
    },
    async stop(signal) {
      running.delete(r);
      stream.end();
      gateway.close();
      api.close();
      return proc.kill(signal);
    },
  };
  running.add(r);
  return r;
}

const now = Date.now();
const db0 = { kind: 'pod' as const, namespace: 'shop', pod: 'db-0', node: 'node-1' };
const sig = (kind: string, atSeconds: number, severity: Signal['severity']): Signal => ({
  kind,
  subject: db0,
  timeMs: now + atSeconds * 1000,
  severity,
  score: 0.9,
  explanation: `${kind} on db-0`,
});

function logLine(r: Running, pred: (l: Record<string, unknown>) => boolean) {
  return (r.proc.lines as Array<Record<string, unknown>>).find(pred);
}

async function listAll(api: ServiceClient<typeof IncidentService>): Promise<Incident[]> {
  return (await api.listIncidents(create(ListIncidentsRequestSchema, { includeResolved: true }))).incidents;
}

/** The stored state, read from the LMDB environment beside the running aggregator. */
function stored(stateDir: string) {
  const root = open({ path: join(stateDir, 'aggregator.mdb'), compression: false, maxDbs: 16 });
  try {
    return new IncidentStore(root, pino({ level: 'silent' })).load();
  } finally {
    void root.close();
  }
}

describe('incidents across an aggregator restart', () => {
  const stateDir = tempDir('persist');
  writeFileSync(
    join(stateDir, 'policy.yaml'),
    `defaultMode: approve
guardrails: { approvalTimeoutSeconds: 3600 }
rules:
  - { name: oom, match: { kinds: [oom_kill] }, actions: [{ type: pod.restart }] }
`,
  );
  let incidentId = '';
  let actionId = '';
  let before: Incident | undefined;

  it('keeps the incident, its groups, root causes and timeline after SIGTERM, and a new signal joins it', async () => {
    const first = await startAggregatorProcess(stateDir);
    await first.send([sig('pod.oom_killed', 0, 'critical'), sig('pod.restarted', 1, 'error')]);
    const [opened] = await listAll(first.api);
    if (!opened) throw new Error('no incident opened');
    incidentId = opened.id;
    before = await first.api.getIncident(create(GetIncidentRequestSchema, { id: incidentId }));
    expect(before.groups.map((g) => g.kind)).toEqual(['pod.oom_killed', 'pod.restarted']);
    expect(before.rootCauses[0]).toMatchObject({ kind: 'oom_kill', object: 'Pod/shop/db-0' });
    const actions = await first.api.listActions(create(ListActionsRequestSchema, { incidentId }));
    expect(actions.actions.map((a) => a.status)).toEqual(['pending_approval']);
    actionId = actions.actions[0]?.id ?? '';
    expect(await first.stop('SIGTERM')).toBe(0);

    const second = await startAggregatorProcess(stateDir);
    expect(
      logLine(second, (l) => l['msg'] === 'restored incidents, remediation actions and guardrails'),
    ).toMatchObject({ incidents: 1, live: 1, actions: 1 });
    const all = await listAll(second.api);
    expect(all.map((i) => i.id)).toEqual([incidentId]);
    const after = await second.api.getIncident(create(GetIncidentRequestSchema, { id: incidentId }));
    expect(after.status).toBe('open');
    expect(after.groups).toEqual(before.groups);
    expect(after.rootCauses).toEqual(before.rootCauses);
    expect(after.timeline).toEqual(before.timeline);

    await second.send([sig('pod.not_ready', 20, 'warning')]);
    const joined = await listAll(second.api);
    expect(joined.map((i) => i.id)).toEqual([incidentId]);
    const grown = await second.api.getIncident(create(GetIncidentRequestSchema, { id: incidentId }));
    expect(grown.groups.map((g) => g.kind)).toEqual(['pod.oom_killed', 'pod.restarted', 'pod.not_ready']);
    expect(await second.stop('SIGTERM')).toBe(0);
  });

  it('lets an action that waited for approval before the restart be approved after it', async () => {
    const third = await startAggregatorProcess(stateDir);
    const pending = await third.api.listActions(create(ListActionsRequestSchema, { incidentId }));
    expect(pending.actions.map((a) => [a.id, a.status])).toEqual([[actionId, 'pending_approval']]);
    const decided = await third.api.approveAction(
      create(ApproveActionRequestSchema, { id: actionId, by: 'alice' }),
    );
    // It ran: this aggregator has no Kubernetes client, so the pod restart itself fails, and says why.
    expect(decided).toMatchObject({ id: actionId, decidedBy: 'alice', status: 'failed' });
    expect(decided.message).toMatch(/no Kubernetes client configured/);
    const audit = await third.api.listAudit(create(ListAuditRequestSchema, { actionId }));
    expect(audit.entries.map((e) => e.decision)).toEqual(['proposed', 'approved', 'executed', 'failed']);
    expect(await third.stop('SIGTERM')).toBe(0);
  });

  it('after SIGKILL brings back everything flushed before the kill, and every acknowledged summary', async () => {
    const fourth = await startAggregatorProcess(stateDir);
    await fourth.send([sig('log.error_rate_jump', 30, 'error')]);
    // Wait until the debounced write holds the new group, then kill without warning.
    await eventually(
      () => stored(stateDir).incidents[0]?.incident.groups.some((g) => g.kind === 'log.error_rate_jump'),
      10_000,
      'the new group to be flushed',
    );
    // One more summary, killed right after its ack: inside the 500 ms write debounce (almost always), so its
    // signal comes back by replaying the stored summary.
    await fourth.send([sig('log.latency_jump', 31, 'error')]);
    expect(await fourth.stop('SIGKILL')).toBeNull();

    const fifth = await startAggregatorProcess(stateDir);
    const inc = await fifth.api.getIncident(create(GetIncidentRequestSchema, { id: incidentId }));
    expect(inc.groups.map((g) => g.kind)).toEqual([
      'pod.oom_killed',
      'pod.restarted',
      'pod.not_ready',
      'log.error_rate_jump',
      'log.latency_jump',
    ]);
    expect(inc.groups.every((g) => g.count === 1)).toBe(true);
    const actions = await fifth.api.listActions(create(ListActionsRequestSchema, { incidentId }));
    expect(actions.actions.map((a) => [a.id, a.status, a.decidedBy])).toEqual([
      [actionId, 'failed', 'alice'],
    ]);
    expect(await fifth.stop('SIGTERM')).toBe(0);
  });

  it('skips a corrupt stored record with a log line naming its key, and starts anyway', async () => {
    const root = open({ path: join(stateDir, 'aggregator.mdb'), compression: false, maxDbs: 16 });
    const raw = root.openDB<Buffer, string>({ name: 'incidents', encoding: 'binary' });
    await raw.put('inc-torn', Buffer.from([0x85, 0xa2, 0x69]));
    await root.openDB<unknown, string>({ name: 'remediation', encoding: 'msgpack' }).put('inc-odd', 42);
    await root.openDB<unknown, string>({ name: 'nodes', encoding: 'msgpack' }).put('node-odd', { node: 7 });
    await root.close();

    const sixth = await startAggregatorProcess(stateDir);
    const torn = logLine(sixth, (l) => l['key'] === 'inc-torn');
    expect(torn).toMatchObject({ db: 'incidents', msg: expect.stringMatching(/does not decode; skipped/) });
    const odd = logLine(sixth, (l) => l['key'] === 'inc-odd');
    expect(odd).toMatchObject({ db: 'remediation', msg: expect.stringMatching(/unexpected shape; skipped/) });
    const node = logLine(sixth, (l) => l['key'] === 'node-odd');
    expect(node).toMatchObject({ db: 'nodes', msg: expect.stringMatching(/unexpected shape; skipped/) });
    expect((await listAll(sixth.api)).map((i) => i.id)).toEqual([incidentId]);
    expect(await sixth.stop('SIGTERM')).toBe(0);
  });
});

describe('notifications across a restart', () => {
  // Resolved after the re-announcement, or at once (inside the group wait, before anything was sent again).
  for (const early of [false, true])
    it(`sends the resolve of an incident announced before the restart${early ? ', even before re-announcing it' : ''}`, async () => {
      const received: Array<Record<string, unknown>> = [];
      const server = createServer((req, res) => {
        let data = '';
        req.on('data', (c: Buffer) => {
          data += c.toString();
        });
        req.on('end', () => {
          received.push(JSON.parse(data) as Record<string, unknown>);
          res.writeHead(202).end('{}');
        });
      });
      await new Promise<void>((r) => server.listen(0, '127.0.0.1', () => r()));
      const url = `http://127.0.0.1:${(server.address() as { port: number }).port}/alertmanager`;
      const logger = pino({ level: 'silent' });
      const path = join(tempDir('persist-notify'), 'aggregator.mdb');
      const topology = new StaticTopology().addPod({ namespace: 'shop', name: 'db-0', node: 'node-1' });
      const notifier = (groupWaitMs: number) =>
        new Notifier({ targets: [{ url, format: 'alertmanager' }], logger, groupWaitMs, pollMs: 10 });
      const boot = (groupWaitMs = 20) => {
        const { root } = openLmdb(path, logger);
        const engine = createIncidentEngine({
          topology,
          logger,
          notifier: notifier(groupWaitMs),
          store: new IncidentStore(root, logger),
        });
        return { root, engine };
      };
      try {
        const first = boot();
        first.engine.ingestSignals([sig('pod.oom_killed', 0, 'critical')]);
        await eventually(() => received.length === 1, 10_000, 'the firing message');
        await first.engine.flush();
        first.engine.stop();
        await first.root.close();

        const second = boot(early ? 60_000 : 20);
        const id = second.engine.incidents()[0]?.id ?? '';
        // Announced once more after the restart (same group key: the receiver folds it into its alert)...
        if (!early)
          await eventually(() => received.length === 2, 10_000, 'the firing message after the restart');
        // ...and its resolve goes out either way.
        second.engine.resolve(id, 'alice');
        await eventually(
          () => received.some((r) => r['status'] === 'resolved'),
          10_000,
          'the resolve message after the restart',
        );
        expect(received.map((r) => [r['groupKey'], r['status']])).toEqual([
          [id, 'firing'],
          ...(early ? [] : [[id, 'firing']]),
          [id, 'resolved'],
        ]);
        second.engine.stop();
        await second.root.close();
      } finally {
        server.close();
      }
    });
});

describe('remediation state through the LMDB store', () => {
  const logger = pino({ level: 'silent' });
  const topology = new StaticTopology().addPod({ namespace: 'shop', name: 'db-0', node: 'node-1' });
  const policy = parsePolicy(`
defaultMode: auto
guardrails: { cooldownSeconds: 600 }
rules: [{ name: oom, match: { kinds: [oom_kill] }, actions: [{ type: pod.restart }] }]`);

  class Recording implements ActionExecutor {
    readonly done: RemediationAction[] = [];
    async execute(a: RemediationAction): Promise<ExecResult> {
      this.done.push(a);
      return { ok: true, message: 'pod deleted' };
    }
  }

  function boot(path: string, kube: ActionExecutor, clock: () => number) {
    const { root } = openLmdb(path, logger);
    const engine = createIncidentEngine({
      topology,
      logger,
      policy,
      kube,
      clock,
      store: new IncidentStore(root, logger),
    });
    return { root, engine };
  }

  it('keeps a cooldown: the same pod is not restarted again right after the aggregator restarts', async () => {
    const path = join(tempDir('persist-cooldown'), 'aggregator.mdb');
    let now = Date.now();
    const kube = new Recording();
    const first = boot(path, kube, () => now);
    first.engine.ingestSignals([{ ...sig('pod.oom_killed', 0, 'critical'), timeMs: now }]);
    await first.engine.idle();
    expect(kube.done).toHaveLength(1);
    first.engine.resolve(first.engine.incidents()[0]?.id ?? '', 'alice');
    await first.engine.flush();
    first.engine.stop();
    await first.root.close();

    now += 120_000;
    const second = boot(path, kube, () => now);
    second.engine.ingestSignals([{ ...sig('pod.oom_killed', 0, 'critical'), timeMs: now }]);
    await second.engine.idle();
    expect(kube.done).toHaveLength(1);
    const blocked = second.engine.audit({ decision: 'blocked' });
    expect(blocked.map((e) => [e.guardrail, e.target])).toEqual([['cooldown', 'Pod/shop/db-0']]);
    second.engine.stop();
    await second.root.close();
  });

  it('marks an action that was running at the kill as interrupted, audited, and never runs it again', async () => {
    const path = join(tempDir('persist-interrupted'), 'aggregator.mdb');
    const now = Date.now();
    let started = 0;
    const hanging: ActionExecutor = {
      execute: () => {
        started += 1;
        return new Promise<ExecResult>(() => undefined);
      },
    };
    const first = boot(path, hanging, () => now);
    first.engine.ingestSignals([{ ...sig('pod.oom_killed', 0, 'critical'), timeMs: now }]);
    expect(first.engine.actions().map((a) => a.status)).toEqual(['running']);
    // No flush by hand: the running action is committed before the executor is called.
    await eventually(() => started === 1, 10_000, 'the action to execute');
    first.engine.stop();
    await first.root.close(); // the process "dies" with the action running

    const kube = new Recording();
    const second = boot(path, kube, () => now + 5000);
    expect(second.engine.actions().map((a) => a.status)).toEqual(['interrupted']);
    expect(second.engine.audit({ decision: 'interrupted' })).toHaveLength(1);
    second.engine.ingestSignals([{ ...sig('pod.restarted', 6, 'error'), timeMs: now + 6000 }]);
    second.engine.tick(now + 200_000);
    await second.engine.idle();
    expect(kube.done).toHaveLength(0);
    second.engine.stop();
    await second.root.close();
  });
});
