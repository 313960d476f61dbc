// The engine's state across a restart, through an in-memory store that serialises like the real one (the
// LMDB store is tested in test/integration/incidents/persistence.test.ts): restored incidents keep
// correlating, quiet time and cooldowns go on, approvals wait, interrupted actions never run again.
import { create, toBinary } from '@bufbuild/protobuf';
import { pino } from 'pino';
import { describe, expect, it } from 'vitest';
import { createIncidentEngine, type IncidentEngineDeps } from '../../../aggregator/correlate/engine.ts';
import type {
  EngineStateStore,
  EngineStateWrite,
  StoredEngineState,
} from '../../../aggregator/correlate/engine-state.ts';
import type { ActionExecutor, ExecResult, RemediationAction } from '../../../aggregator/remediate/action.ts';
import { parsePolicy } from '../../../aggregator/remediate/policy.ts';
import { replayStoredSummaries } from '../../../aggregator/store/summary-replay.ts';
import { signalToWire } from '../../../common/signal-wire.ts';
import { SummarySchema } from '../../../proto/gen/vigil/v1/summary_pb.js';
import { eventually } from '../../support/processes.ts';
import { StaticTopology } from '../../support/static-topology.ts';
import { podSubject, signal, T0 } from './fixtures.ts';

const logger = pino({ level: 'silent' });

/** Keeps records as structured clones, keyed like the LMDB store, and counts writes. */
class MemoryStore implements EngineStateStore {
  readonly state: StoredEngineState = { incidents: [], remediation: [] };
  saves = 0;

  load(): StoredEngineState {
    return structuredClone(this.state);
  }

  async save(write: EngineStateWrite): Promise<void> {
    const w = structuredClone(write);
    this.saves += 1;
    const gone = new Set(w.removed);
    this.state.incidents = this.state.incidents.filter((s) => !gone.has(s.incident.id));
    this.state.remediation = this.state.remediation.filter((r) => !gone.has(r.incidentId));
    for (const s of w.incidents) {
      this.state.incidents = this.state.incidents.filter((x) => x.incident.id !== s.incident.id);
      this.state.incidents.push(s);
    }
    for (const r of w.remediation) {
      this.state.remediation = this.state.remediation.filter((x) => x.incidentId !== r.incidentId);
      this.state.remediation.push(r);
    }
    this.state.meta = w.meta;
  }
}

class RecordingExecutor implements ActionExecutor {
  readonly done: RemediationAction[] = [];
  async execute(action: RemediationAction): Promise<ExecResult> {
    this.done.push(structuredClone(action));
    return { ok: true, message: 'done' };
  }
}

/** Never answers: the action stays running, as when the process dies mid-way. */
class HangingExecutor implements ActionExecutor {
  started = 0;
  execute(): Promise<ExecResult> {
    this.started += 1;
    return new Promise(() => undefined);
  }
}

function topology() {
  return new StaticTopology()
    .addPod({ namespace: 'shop', name: 'db-0', node: 'node-1', workload: 'StatefulSet/shop/db' })
    .addPod({ namespace: 'shop', name: 'web-0', node: 'node-2', workload: 'Deployment/shop/web' });
}

const APPROVE = parsePolicy(`
defaultMode: approve
guardrails: { approvalTimeoutSeconds: 3600, cooldownSeconds: 600, verifySeconds: 60 }
rules:
  - name: oom
    match: { kinds: [oom_kill] }
    actions: [{ type: pod.restart }, { type: deployment.rollout_restart }]`);

const AUTO = parsePolicy(`
defaultMode: auto
guardrails: { cooldownSeconds: 600, verifySeconds: 60 }
rules:
  - name: oom
    match: { kinds: [oom_kill] }
    actions: [{ type: pod.restart }, { type: deployment.rollout_restart }]`);

const oom = (pod: string, at: number) =>
  signal('pod.oom_killed', podSubject('shop', pod, pod === 'db-0' ? 'node-1' : 'node-2'), at, {
    severity: 'critical',
  });

function engineOn(store: MemoryStore, clock: () => number, extra: Partial<IncidentEngineDeps> = {}) {
  return createIncidentEngine({ topology: topology(), logger, clock, store, ...extra });
}

describe('incident engine across a restart', () => {
  it('restores an incident with its id, groups, root causes and timeline, and a new signal joins it', async () => {
    const store = new MemoryStore();
    let now = T0;
    const before = engineOn(store, () => now);
    before.ingestSignals([
      oom('db-0', 0),
      signal('pod.restarted', podSubject('shop', 'db-0', 'node-1'), 1, { severity: 'error' }),
    ]);
    await before.flush();
    before.stop();
    const [saved] = before.incidents();
    if (!saved) throw new Error('no incident');

    now += 30_000;
    const after = engineOn(store, () => now);
    const [restored] = after.incidents();
    expect(restored).toEqual(saved);
    after.ingestSignals([signal('pod.not_ready', podSubject('shop', 'db-0', 'node-1'), 40)]);
    expect(after.incidents()).toHaveLength(1);
    expect(after.incidents()[0]?.id).toBe(saved.id);
    expect(after.incidents()[0]?.groups.map((g) => g.kind)).toEqual([
      'pod.oom_killed',
      'pod.restarted',
      'pod.not_ready',
    ]);
    // A different subject opens a new incident, with an id the restored one never had.
    after.ingestSignals([oom('web-0', 41)]);
    const ids = after.incidents().map((i) => i.id);
    expect(new Set(ids).size).toBe(2);
    after.stop();
  });

  it('gives new incidents ids that never collide with restored ones, even when the clock repeats', async () => {
    const store = new MemoryStore();
    const first = engineOn(store, () => T0);
    first.ingestSignals([oom('db-0', 0)]);
    await first.flush();
    first.stop();
    // Same clock reading after the restart: only the restored sequence keeps the ids apart.
    const second = engineOn(store, () => T0);
    second.ingestSignals([oom('web-0', 0)]);
    const ids = second.incidents().map((i) => i.id);
    expect(ids).toHaveLength(2);
    expect(new Set(ids).size).toBe(2);
    second.stop();
  });

  it('keeps ids unique when the stored sequences are lost (engine-state record unreadable)', async () => {
    const store = new MemoryStore();
    const first = engineOn(store, () => T0, { policy: APPROVE });
    first.ingestSignals([oom('db-0', 0)]);
    await first.flush();
    first.stop();
    delete store.state.meta;
    const second = engineOn(store, () => T0, { policy: APPROVE });
    second.ingestSignals([oom('web-0', 0)]);
    expect(new Set(second.incidents().map((i) => i.id)).size).toBe(2);
    expect(new Set(second.actions().map((a) => a.id)).size).toBe(2);
    second.stop();
  });

  it('does not count the time the aggregator was down as quiet time', async () => {
    const store = new MemoryStore();
    let now = T0;
    const quietMs = 300_000;
    const before = engineOn(store, () => now, { correlation: { quietMs } });
    before.ingestSignals([oom('db-0', 0)]);
    now += 120_000; // quiet for 2 min when it stops
    before.tick(now);
    await before.flush();
    before.stop();

    now += 3_600_000; // down for an hour
    const after = engineOn(store, () => now, { correlation: { quietMs } });
    after.tick(now);
    expect(after.incidents()[0]?.status).toBe('open');
    now += quietMs - 120_000 - 1000;
    after.tick(now);
    expect(after.incidents()[0]?.status).toBe('open');
    now += 2000;
    after.tick(now);
    expect(after.incidents()[0]?.status).toBe('resolved');
    after.stop();
  });

  it('lets an action that waited for approval be approved after the restart, and runs it once', async () => {
    const store = new MemoryStore();
    let now = T0;
    const before = engineOn(store, () => now, { policy: APPROVE, kube: new RecordingExecutor() });
    before.ingestSignals([oom('db-0', 0)]);
    const [pending] = before.actions({ status: 'pending_approval' });
    if (!pending) throw new Error('no pending action');
    await before.flush();
    before.stop();

    now += 60_000;
    const kube = new RecordingExecutor();
    const after = engineOn(store, () => now, { policy: APPROVE, kube });
    expect(after.actions({ status: 'pending_approval' }).map((a) => a.id)).toEqual([pending.id]);
    const approved = await after.approve(pending.id, 'alice');
    expect(approved).toMatchObject({ status: 'succeeded', decidedBy: 'alice' });
    expect(kube.done.map((a) => a.id)).toEqual([pending.id]);
    // The audit trail of the new process has the decision, with the approver.
    expect(after.audit({ actionId: pending.id, decision: 'approved' })[0]?.actor).toBe('alice');
    after.stop();
  });

  it('drops a waiting approval whose rule left the policy during the restart', async () => {
    const store = new MemoryStore();
    const before = engineOn(store, () => T0, { policy: APPROVE });
    before.ingestSignals([oom('db-0', 0)]);
    await before.flush();
    before.stop();
    const changed = parsePolicy(`
defaultMode: approve
rules: [{ name: crash, match: { kinds: [crash_loop] }, actions: [{ type: pod.restart }] }]`);
    const after = engineOn(store, () => T0 + 1000, { policy: changed });
    expect(after.actions().map((a) => [a.status, a.message])).toEqual([
      ['skipped', 'rule oom is no longer in the policy'],
    ]);
    after.stop();
  });

  it('marks an action that was running when the process died as interrupted and never runs it again', async () => {
    const store = new MemoryStore();
    let now = T0;
    const hanging = new HangingExecutor();
    const before = engineOn(store, () => now, { policy: AUTO, kube: hanging });
    before.ingestSignals([oom('db-0', 0)]);
    expect(before.actions({ status: 'running' })).toHaveLength(1);
    // Written before it executes (no flush by hand): a kill from here on finds it running.
    await eventually(() => hanging.started === 1, 5000, 'the action to execute');
    expect(store.state.remediation[0]?.actions.map((a) => a.status)).toEqual(['running']);
    before.stop(); // never idle: the executor hangs, as a killed process would

    now += 10_000;
    const kube = new RecordingExecutor();
    const after = engineOn(store, () => now, { policy: AUTO, kube });
    const [action] = after.actions();
    expect(action).toMatchObject({ status: 'interrupted', type: 'pod.restart' });
    expect(after.audit({ decision: 'interrupted' })).toHaveLength(1);
    expect(after.audit({ decision: 'escalated' })[0]?.reason).toMatch(/interrupted.*a person must check/);
    expect(after.incidents()[0]?.timeline.some((t) => t.type === 'escalated')).toBe(true);
    // Time passes and the incident changes: no re-run, no next step of the ladder.
    now += 120_000;
    after.tick(now);
    after.ingestSignals([signal('pod.not_ready', podSubject('shop', 'db-0', 'node-1'), 130)]);
    await after.idle();
    expect(kube.done).toHaveLength(0);
    expect(hanging.started).toBe(1);
    // And the interruption itself is stored: a second restart does not audit it again.
    await after.flush();
    after.stop();
    const again = engineOn(store, () => now, { policy: AUTO, kube });
    expect(again.actions()[0]?.status).toBe('interrupted');
    again.stop();
  });

  it('keeps a cooldown across the restart', async () => {
    const store = new MemoryStore();
    let now = T0;
    const kube = new RecordingExecutor();
    const before = engineOn(store, () => now, { policy: AUTO, kube });
    before.ingestSignals([oom('db-0', 0)]);
    await before.idle();
    expect(kube.done).toHaveLength(1);
    before.resolve(before.incidents()[0]?.id ?? '', 'alice');
    await before.flush();
    before.stop();

    now += 60_000; // well inside the 600 s cooldown
    const after = engineOn(store, () => now, { policy: AUTO, kube });
    after.ingestSignals([oom('db-0', 60)]);
    await after.idle();
    expect(kube.done).toHaveLength(1);
    expect(after.audit({ decision: 'blocked' }).map((e) => e.guardrail)).toContain('cooldown');
    after.stop();
  });

  it('writes a person’s decision at once, without waiting for the debounce', async () => {
    const store = new MemoryStore();
    const engine = engineOn(store, () => T0, { policy: APPROVE, persistIntervalMs: 3_600_000 });
    engine.ingestSignals([oom('db-0', 0)]);
    await engine.flush();
    const [inc] = engine.incidents();
    const [action] = engine.actions();
    engine.acknowledge(inc?.id ?? '', 'alice');
    engine.reject(action?.id ?? '', 'alice', 'not now');
    await eventually(
      () => store.state.remediation[0]?.actions[0]?.status === 'rejected',
      5000,
      'the rejection to be written',
    );
    expect(store.state.incidents[0]?.incident).toMatchObject({
      status: 'acknowledged',
      acknowledgedBy: 'alice',
    });
    engine.stop();
  });

  it('writes a storm of signals in one transaction per flush', async () => {
    const store = new MemoryStore();
    let now = T0;
    const engine = engineOn(store, () => now);
    for (let i = 0; i < 500; i++) {
      now += 10;
      engine.ingestSignals([
        signal('log.error_rate_jump', podSubject('shop', `web-${i % 20}`, 'node-2'), i / 100, {
          severity: 'error',
        }),
      ]);
    }
    await engine.flush();
    expect(store.saves).toBe(1);
    expect(store.state.incidents.map((s) => s.incident.signalCount).reduce((a, b) => a + b, 0)).toBe(500);
    await engine.flush();
    expect(store.saves).toBe(1); // nothing changed, nothing written
    engine.stop();
  });

  it('removes incidents from the store once they are pruned', async () => {
    const store = new MemoryStore();
    let now = T0;
    const engine = engineOn(store, () => now, { policy: APPROVE, keepResolvedMs: 60_000 });
    engine.ingestSignals([oom('db-0', 0)]);
    const id = engine.incidents()[0]?.id ?? '';
    engine.resolve(id, 'alice');
    await engine.flush();
    expect(store.state.incidents.map((s) => s.incident.id)).toEqual([id]);
    expect(store.state.remediation.map((r) => r.incidentId)).toEqual([id]);
    now += 120_000;
    engine.tick(now);
    await engine.flush();
    expect(store.state.incidents).toHaveLength(0);
    expect(store.state.remediation).toHaveLength(0);
    expect(engine.actions()).toHaveLength(0);
    engine.stop();
  });
});

describe('summaries stored after the last state write', () => {
  const summary = (node: string, ...signals: ReturnType<typeof oom>[]) =>
    create(SummarySchema, { node, signals: signals.map(signalToWire) });

  it('are replayed from the first sequence the restored state lacks, and only those', async () => {
    const store = new MemoryStore();
    const before = engineOn(store, () => T0);
    before.ingest('node-1', summary('node-1', oom('db-0', 0)), 1);
    await before.flush();
    before.ingest(
      'node-1',
      summary('node-1', signal('pod.restarted', podSubject('shop', 'db-0', 'node-1'), 1)),
      2,
    );
    before.stop(); // killed inside the debounce: sequence 2 is not in the stored state

    const after = engineOn(store, () => T0 + 5000);
    expect(after.summariesToReplay(['node-1', 'node-2'])).toEqual([
      { node: 'node-1', fromSeq: 2 },
      { node: 'node-2', fromSeq: 0 }, // first seen after the last write
    ]);
    const stored = [1, 2].map((seq) => ({
      seq,
      summary: Buffer.from(
        toBinary(
          SummarySchema,
          seq === 1
            ? summary('node-1', oom('db-0', 0))
            : summary('node-1', signal('pod.restarted', podSubject('shop', 'db-0', 'node-1'), 1)),
        ),
      ),
    }));
    const replayed = replayStoredSummaries(
      { readSummaries: (_node: string, from = 0) => stored.filter((s) => s.seq >= from).values() },
      after,
      ['node-1'],
      logger,
    );
    expect(replayed).toBe(1);
    const [inc] = after.incidents();
    expect(after.incidents()).toHaveLength(1);
    expect(inc?.groups.map((g) => [g.kind, g.count])).toEqual([
      ['pod.oom_killed', 1],
      ['pod.restarted', 1],
    ]);
    // Once written, nothing is left to replay.
    await after.flush();
    after.stop();
    expect(engineOn(store, () => T0).summariesToReplay(['node-1'])).toEqual([{ node: 'node-1', fromSeq: 3 }]);
  });

  it('are not replayed when there was no stored state (first start with persistence)', () => {
    const engine = engineOn(new MemoryStore(), () => T0);
    expect(engine.summariesToReplay(['node-1'])).toEqual([]);
    engine.stop();
  });
});
