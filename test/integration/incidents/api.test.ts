import { execFile } from 'node:child_process';
import { create } from '@bufbuild/protobuf';
import * as grpc from '@grpc/grpc-js';
import { pino } from 'pino';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { incidentHandlers } from '../../../aggregator/api/incidents.ts';
import { createIncidentEngine, type IncidentEngine } from '../../../aggregator/correlate/engine.ts';
import type { ActionExecutor, RemediationAction } from '../../../aggregator/remediate/action.ts';
import { parsePolicy } from '../../../aggregator/remediate/policy.ts';
import { addService, createClient, type ServiceClient } from '../../../common/grpc/adapter.ts';
import {
  AcknowledgeIncidentRequestSchema,
  ApproveActionRequestSchema,
  GetIncidentRequestSchema,
  type IncidentEvent,
  IncidentService,
  IngestEventRequestSchema,
  ListActionsRequestSchema,
  ListAuditRequestSchema,
  ListIncidentsRequestSchema,
  RejectActionRequestSchema,
  ResolveIncidentRequestSchema,
  WatchIncidentsRequestSchema,
} from '../../../proto/gen/vigil/v1/incidents_pb.js';
import { eventually } from '../../support/processes.ts';
import { StaticTopology } from '../../support/static-topology.ts';
import { podSubject, signal } from '../../unit/incidents/fixtures.ts';

const logger = pino({ level: 'silent' });

class Recording implements ActionExecutor {
  readonly done: RemediationAction[] = [];
  async execute(a: RemediationAction) {
    this.done.push(a);
    return { ok: true, message: `did ${a.type}` };
  }
}

let server: grpc.Server;
let port: number;
let engine: IncidentEngine;
let client: ServiceClient<typeof IncidentService>;
const kube = new Recording();

function runCli(args: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    execFile(
      process.execPath,
      ['cli/main.ts', ...args, '--aggregator', `127.0.0.1:${port}`],
      { timeout: 30_000 },
      (err, stdout, stderr) => resolve({ code: err ? Number(err.code ?? 1) : 0, stdout, stderr }),
    );
  });
}

beforeAll(async () => {
  const topo = new StaticTopology();
  topo.addWorkload({
    namespace: 'shop',
    app: 'db',
    kind: 'StatefulSet',
    replicas: 1,
    nodes: ['node-1'],
    port: 5432,
  });
  topo.addWorkload({
    namespace: 'shop',
    app: 'api',
    replicas: 6,
    nodes: ['node-1', 'node-2', 'node-3'],
    port: 8080,
  });
  engine = createIncidentEngine({
    topology: topo,
    logger,
    kube,
    policy: parsePolicy(`
defaultMode: approve
rules:
  - { name: oom, match: { kinds: [oom_kill] }, actions: [{ type: pod.restart }] }
  - { name: crash, match: { kinds: [crash_loop] }, actions: [{ type: pod.restart }] }`),
  });
  server = new grpc.Server();
  addService(server, IncidentService, incidentHandlers(engine));
  port = await new Promise<number>((resolve, reject) =>
    server.bindAsync('127.0.0.1:0', grpc.ServerCredentials.createInsecure(), (err, p) =>
      err ? reject(err) : resolve(p),
    ),
  );
  client = createClient(IncidentService, `127.0.0.1:${port}`);
});

afterAll(() => {
  client.close();
  server.forceShutdown();
  engine.stop();
});

describe('incident API', () => {
  it('lists, watches, acknowledges, approves and resolves through gRPC', async () => {
    engine.ingestSignals([
      signal('pod.oom_killed', podSubject('shop', 'db-0', 'node-1'), 0, { severity: 'critical' }),
      ...['api-7f9c0-x0', 'api-7f9c1-x1'].map((p) =>
        signal('log.error_rate_jump', podSubject('shop', p, 'node-2'), 2, {
          lines: ['dial tcp db:5432: connect: connection refused'],
        }),
      ),
    ]);
    const events: IncidentEvent[] = [];
    const watch = client.watchIncidents(create(WatchIncidentsRequestSchema, {}));
    watch.on('data', (e: IncidentEvent) => events.push(e));
    watch.on('error', () => undefined);
    // The snapshot proves the watch is registered: every later change reaches it.
    await eventually(() => events.some((e) => e.change === 'snapshot'), 5000, 'the watch snapshot');
    const list = await client.listIncidents(create(ListIncidentsRequestSchema, {}));
    expect(list.incidents).toHaveLength(1);
    const inc = list.incidents[0];
    if (!inc) throw new Error('no incident');
    expect(inc.rootCauses[0]).toMatchObject({ kind: 'oom_kill', object: 'Pod/shop/db-0' });
    expect(inc.groups).toHaveLength(0);
    expect(inc.groupCount).toBe(3);

    const full = await client.getIncident(create(GetIncidentRequestSchema, { id: inc.id }));
    expect(full.groups).toHaveLength(3);
    expect(full.timeline.length).toBeGreaterThan(0);

    const acked = await client.acknowledgeIncident(
      create(AcknowledgeIncidentRequestSchema, { id: inc.id, by: 'alice' }),
    );
    expect(acked).toMatchObject({ status: 'acknowledged', acknowledgedBy: 'alice' });

    const actions = await client.listActions(create(ListActionsRequestSchema, { incidentId: inc.id }));
    expect(actions.actions).toHaveLength(1);
    const action = actions.actions[0];
    expect(action).toMatchObject({
      type: 'pod.restart',
      target: 'Pod/shop/db-0',
      status: 'pending_approval',
      mode: 'approve',
    });
    const approved = await client.approveAction(
      create(ApproveActionRequestSchema, { id: action?.id ?? '', by: 'alice' }),
    );
    expect(approved.status).toBe('succeeded');
    expect(kube.done).toHaveLength(1);
    await expect(
      client.approveAction(create(ApproveActionRequestSchema, { id: action?.id ?? '' })),
    ).rejects.toMatchObject({
      code: grpc.status.FAILED_PRECONDITION,
    });
    await expect(
      client.approveAction(create(ApproveActionRequestSchema, { id: 'act-nope' })),
    ).rejects.toMatchObject({
      code: grpc.status.NOT_FOUND,
    });

    const resolved = await client.resolveIncident(
      create(ResolveIncidentRequestSchema, { id: inc.id, by: 'alice' }),
    );
    expect(resolved.status).toBe('resolved');
    await eventually(
      () => events.some((e) => e.change === 'resolved' && e.incident?.id === inc.id),
      5000,
      'the resolve event',
    );
    expect(events.some((e) => e.change === 'updated' && e.incident?.status === 'acknowledged')).toBe(true);
    expect(events.some((e) => e.change === 'action' && e.action?.status === 'succeeded')).toBe(true);
    watch.cancel();

    const audit = await client.listAudit(create(ListAuditRequestSchema, { incidentId: inc.id }));
    expect(audit.entries.map((e) => e.decision)).toEqual(['proposed', 'approved', 'executed', 'succeeded']);
    expect(audit.entries[1]?.actor).toBe('alice');
  });

  it('rejects a pending action and records who did', async () => {
    engine.ingestSignals([
      signal('pod.crash_loop', podSubject('shop', 'api-7f9c3-x3', 'node-1'), 100, { severity: 'error' }),
    ]);
    const pending = await client.listActions(
      create(ListActionsRequestSchema, { status: 'pending_approval' }),
    );
    expect(pending.actions).toHaveLength(1);
    const rejected = await client.rejectAction(
      create(RejectActionRequestSchema, {
        id: pending.actions[0]?.id ?? '',
        by: 'bob',
        reason: 'investigating',
      }),
    );
    expect(rejected).toMatchObject({ status: 'rejected', decidedBy: 'bob' });
    expect(kube.done).toHaveLength(1);
  });

  it('takes deploy markers as root-cause candidates and refuses malformed events', async () => {
    await client.ingestEvent(
      create(IngestEventRequestSchema, {
        kind: 'ci-result',
        object: 'Deployment/shop/api',
        description: 'pipeline 4411 deployed api 3.3.0',
      }),
    );
    await expect(
      client.ingestEvent(create(IngestEventRequestSchema, { kind: 'party', object: 'Deployment/shop/api' })),
    ).rejects.toMatchObject({
      code: grpc.status.INVALID_ARGUMENT,
    });
    await expect(
      client.ingestEvent(create(IngestEventRequestSchema, { kind: 'config', object: 'api' })),
    ).rejects.toMatchObject({
      code: grpc.status.INVALID_ARGUMENT,
    });
    engine.ingestSignals([
      signal('pod.crash_loop', podSubject('shop', 'api-7f9c4-x4', 'node-2'), 0, {
        severity: 'error',
        timeMs: Date.now(),
      }),
    ]);
    const live = engine.incidents().find((i) => i.groups.some((g) => g.subject.pod === 'api-7f9c4-x4'));
    expect(live?.rootCauses.some((c) => c.object === 'Deployment/shop/api' && c.kind === 'bad_rollout')).toBe(
      true,
    );
  });

  it('prints incidents as JSON through the CLI', async () => {
    const res = await runCli(['incidents', '--all', '--json']);
    expect(res.code).toBe(0);
    const parsed = JSON.parse(res.stdout) as Array<{ id: string; rootCauses: Array<{ object: string }> }>;
    expect(parsed.length).toBeGreaterThanOrEqual(2);
    expect(parsed.some((i) => i.rootCauses[0]?.object === 'Pod/shop/db-0')).toBe(true);
    const audit = await runCli(['incidents', '--audit']);
    expect(audit.stdout).toMatch(/rejected/);
  });
});
