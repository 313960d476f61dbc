// The incident engine: the one object the aggregator wires in. Signals from accepted summaries go to the
// correlator; changed incidents are re-ranked, handed to the remediation planner and the notifier, and
// announced as events for the API's watchers. `tick(now)` drives the time-based parts: quiet incidents
// resolve, approvals expire, actions are verified. With a state store, incidents, actions and guardrails
// are restored on creation and written back when they change (debounced, one transaction per flush).
import { EventEmitter } from 'node:events';
import type { Logger } from '../../common/log.ts';
import type { Signal } from '../../common/signal.ts';
import { signalFromWire } from '../../common/signal-wire.ts';
import type { Summary } from '../../proto/gen/vigil/v1/summary_pb.js';
import type { Notifier } from '../notify/notifier.ts';
import type { ActionExecutor, RemediationAction } from '../remediate/action.ts';
import { AgentExecutor, type SendToAgent } from '../remediate/agent-commands.ts';
import { type AuditEntry, type AuditQuery, AuditTrail } from '../remediate/audit.ts';
import { RemediationPlanner } from '../remediate/planner.ts';
import { type Policy, parsePolicy } from '../remediate/policy.ts';
import type { ChangeEvent, Topology } from '../state/topology.ts';
import { Correlator, type CorrelatorOptions } from './correlator.ts';
import type { EngineStateStore, StoredEngineState, StoredRemediation } from './engine-state.ts';
import { addTimeline, type Incident } from './incident.ts';
import { rankRootCauses } from './root-cause.ts';

export type IncidentChange = 'opened' | 'updated' | 'resolved';

export interface IncidentEngineDeps {
  topology: Topology;
  logger: Logger;
  clock?: () => number;
  /** Remediation policy; without one every action type is off (nothing is ever done). */
  policy?: Policy;
  /** Executes Kubernetes API actions (e.g. `new KubeExecutor(kubeconfig)`). */
  kube?: ActionExecutor;
  /** Sends a node-level command to that node's agent over the gateway stream. */
  sendToAgent?: SendToAgent;
  /** Agent command deadline (default 60 s) and first retry delay (default 1 s). */
  agentCommand?: { deadlineMs?: number; retryDelayMs?: number };
  notifier?: Notifier;
  correlation?: Partial<CorrelatorOptions>;
  /** Appends every audit entry to this JSON-lines file. */
  auditFile?: string;
  /** Resolved incidents are kept this long for the API (default 24 h). */
  keepResolvedMs?: number;
  /**
   * A big incident (more than 50 groups) is re-ranked at most this often during a storm; the rest waits for
   * the next tick (default 1000 ms). Small incidents are re-ranked on every new group.
   */
  rankIntervalMs?: number;
  /**
   * Where incidents, actions and guardrail state outlive the process (e.g. `new IncidentStore(root, log)`).
   * Restored when the engine is created; changes are written at most once per `persistIntervalMs`.
   */
  store?: EngineStateStore;
  /** Debounce of state writes (default 500 ms): a SIGKILL loses at most this much of the latest changes. */
  persistIntervalMs?: number;
}

export interface EngineStats {
  signals: number;
  incidentsOpened: number;
  open: number;
}

export type IncidentListener = (incident: Incident, change: IncidentChange) => void;
export type ActionListener = (action: RemediationAction) => void;

export interface IncidentEngine {
  /** A node's accepted summary; `seq` (its batch sequence) lets a restart replay what the state lacks. */
  ingest(node: string, summary: Summary, seq?: number): void;
  ingestSignals(signals: readonly Signal[]): void;
  /** External change (deploy marker, CI/CD result): a first-class root-cause candidate. */
  ingestEvent(event: ChangeEvent): void;
  tick(now?: number): void;
  incidents(): Incident[];
  incident(id: string): Incident | undefined;
  acknowledge(id: string, by: string): Incident | undefined;
  resolve(id: string, by: string): Incident | undefined;
  actions(filter?: { incidentId?: string; status?: string }): RemediationAction[];
  approve(actionId: string, by: string): Promise<RemediationAction>;
  reject(actionId: string, by: string, reason?: string): RemediationAction;
  audit(query?: AuditQuery): AuditEntry[];
  stats(): EngineStats;
  /** Resolves once started remediation actions finished (tests, shutdown). */
  idle(): Promise<void>;
  /** Writes every unsaved change to the state store now; resolves once committed (shutdown, tests). */
  flush(): Promise<void>;
  /**
   * After a restore: per node, the first summary sequence whose signals the restored state does not include
   * (a SIGKILL inside the write debounce). Nodes unknown to the stored state replay from 0 (first seen after
   * the last write); without any stored state nothing is replayed.
   */
  summariesToReplay(nodes: readonly string[]): Array<{ node: string; fromSeq: number }>;
  on(event: 'incident', listener: IncidentListener): void;
  on(event: 'action', listener: ActionListener): void;
  off(event: 'incident', listener: IncidentListener): void;
  off(event: 'action', listener: ActionListener): void;
  stop(): void;
}

const OFF_POLICY = parsePolicy('defaultMode: off');
const MAX_EXTERNAL_EVENTS = 1000;

class Engine implements IncidentEngine {
  readonly #events = new EventEmitter();
  readonly #deps: IncidentEngineDeps;
  readonly #clock: () => number;
  readonly #correlator: Correlator;
  readonly #planner: RemediationPlanner;
  readonly #audit: AuditTrail;
  readonly #external: ChangeEvent[] = [];
  readonly #lastSignal = new Map<string, number>();
  readonly #dirty = new Set<string>();
  /** Objects Vigil itself changed (a rollout restart makes a new revision): never blamed as a cause. */
  readonly #ownChanges: Array<{ object: string; timeMs: number }> = [];
  readonly #lastRank = new Map<string, number>();
  readonly #needsRank = new Set<string>();
  #signals = 0;
  #opened = 0;
  /** Incidents whose record, plan or actions changed since the last write. */
  #unsaved = new Set<string>();
  /** Incidents pruned from memory since the last write. */
  #removed: string[] = [];
  #saveTimer: NodeJS.Timeout | undefined;
  #saving: Promise<void> | undefined;
  #stopped = false;
  /** Per node, the highest summary sequence ingested. */
  readonly #summaryPositions = new Map<string, number>();
  /** Whether engine state was restored (so positions are meaningful for replay). */
  #restoredState = false;
  /** Summary positions changed since the last write. */
  #unsavedMeta = false;

  constructor(deps: IncidentEngineDeps) {
    this.#deps = deps;
    this.#clock = deps.clock ?? Date.now;
    this.#correlator = new Correlator(deps.topology, this.#clock, deps.correlation);
    this.#audit = new AuditTrail(deps.auditFile ? { file: deps.auditFile } : {});
    const agent = deps.sendToAgent
      ? new AgentExecutor(deps.sendToAgent, {
          deadlineMs: deps.agentCommand?.deadlineMs ?? 60_000,
          retryDelayMs: deps.agentCommand?.retryDelayMs ?? 1000,
          clock: this.#clock,
        })
      : undefined;
    this.#planner = new RemediationPlanner({
      policy: deps.policy ?? OFF_POLICY,
      topology: deps.topology,
      clock: this.#clock,
      logger: deps.logger,
      audit: this.#audit,
      ...(deps.kube ? { kube: deps.kube } : {}),
      ...(agent ? { agent } : {}),
      onAction: (action, incidentId) => this.#onAction(action, incidentId),
      onEscalate: (incidentId, reason) => this.#onEscalate(incidentId, reason),
      ...(deps.store ? { beforeExecute: () => this.flush() } : {}),
    });
    this.#planner.setIncidentLookup((id) => this.#correlator.get(id));
    if (deps.store) this.#restore(deps.store.load());
  }

  ingest(node: string, summary: Summary, seq?: number): void {
    if (summary.signals.length > 0) this.ingestSignals(summary.signals.map(signalFromWire));
    // After the signals: a write in the middle of them (an action's intent) replays this summary again
    // rather than lose its rest; a repeat only bumps a count.
    if (seq !== undefined && this.#deps.store && seq > (this.#summaryPositions.get(node) ?? -1)) {
      this.#summaryPositions.set(node, seq);
      this.#unsavedMeta = true;
      this.#scheduleSave();
    }
  }

  summariesToReplay(nodes: readonly string[]): Array<{ node: string; fromSeq: number }> {
    if (!this.#restoredState) return [];
    return nodes.map((node) => {
      const at = this.#summaryPositions.get(node);
      return { node, fromSeq: at === undefined ? 0 : at + 1 };
    });
  }

  ingestSignals(signals: readonly Signal[]): void {
    const now = this.#clock();
    for (const signal of signals) {
      this.#signals += 1;
      const r = this.#correlator.ingest(signal);
      if (!r) continue;
      this.#lastSignal.set(r.incident.id, now);
      this.#changed(r.incident.id);
      for (const m of r.merged) {
        this.#lastSignal.delete(m.id);
        this.#dirty.delete(m.id);
        this.#emitChange(m, 'resolved');
      }
      if (r.opened) {
        this.#opened += 1;
        this.#rank(r.incident);
        this.#emitChange(r.incident, 'opened');
      } else if (r.newGroup || r.merged.length > 0) {
        const inc = r.incident;
        const interval = this.#deps.rankIntervalMs ?? 1000;
        if (inc.groups.length <= 50 || now - (this.#lastRank.get(inc.id) ?? 0) >= interval) {
          this.#rank(inc);
          this.#emitChange(inc, 'updated');
        } else {
          this.#needsRank.add(inc.id);
          this.#dirty.add(inc.id);
        }
      } else {
        // A repeat only bumps counts: announced with the next tick, not once per signal.
        this.#dirty.add(r.incident.id);
      }
    }
  }

  ingestEvent(event: ChangeEvent): void {
    this.#external.push(event);
    if (this.#external.length > MAX_EXTERNAL_EVENTS) this.#external.shift();
    // A change after the onset of a live incident may explain it: re-rank those.
    for (const inc of this.#correlator.list()) {
      if (inc.status === 'resolved') break;
      this.#rank(inc);
      this.#emitChange(inc, 'updated');
    }
  }

  tick(now = this.#clock()): void {
    for (const inc of this.#correlator.tick(now)) {
      this.#dirty.delete(inc.id);
      this.#emitChange(inc, 'resolved');
    }
    for (const id of this.#needsRank) {
      const inc = this.#correlator.get(id);
      if (inc && inc.status !== 'resolved') this.#rank(inc);
    }
    this.#needsRank.clear();
    for (const id of this.#dirty) {
      const inc = this.#correlator.get(id);
      if (inc && inc.status !== 'resolved') this.#emitChange(inc, 'updated');
    }
    this.#dirty.clear();
    this.#planner.tick(
      now,
      (id) => this.#correlator.get(id),
      (id) => this.#lastSignal.get(id) ?? 0,
    );
    const pruned = this.#correlator.prune(now, this.#deps.keepResolvedMs ?? 24 * 3600_000);
    if (pruned.length > 0) {
      this.#planner.forget(pruned);
      for (const id of pruned) {
        this.#unsaved.delete(id);
        this.#lastSignal.delete(id);
      }
      this.#removed.push(...pruned);
      this.#scheduleSave();
    }
  }

  incidents(): Incident[] {
    return this.#correlator.list();
  }

  incident(id: string): Incident | undefined {
    return this.#correlator.get(id);
  }

  acknowledge(id: string, by: string): Incident | undefined {
    const inc = this.#correlator.setStatus(id, 'acknowledged', by);
    if (inc) this.#emitChange(inc, 'updated');
    this.#writeNow();
    return inc;
  }

  resolve(id: string, by: string): Incident | undefined {
    const before = this.#correlator.get(id)?.status;
    const inc = this.#correlator.resolve(id, by, `resolved by ${by}`);
    if (inc && before !== 'resolved') this.#emitChange(inc, 'resolved');
    this.#writeNow();
    return inc;
  }

  actions(filter: { incidentId?: string; status?: string } = {}): RemediationAction[] {
    return this.#planner.actions(filter);
  }

  async approve(actionId: string, by: string): Promise<RemediationAction> {
    try {
      return await this.#planner.approve(actionId, by);
    } finally {
      this.#writeNow();
    }
  }

  reject(actionId: string, by: string, reason = ''): RemediationAction {
    const action = this.#planner.reject(actionId, by, reason);
    this.#writeNow();
    return action;
  }

  audit(query: AuditQuery = {}): AuditEntry[] {
    return this.#audit.query(query);
  }

  stats(): EngineStats {
    return {
      signals: this.#signals,
      incidentsOpened: this.#opened,
      open: this.#correlator.list().filter((i) => i.status !== 'resolved').length,
    };
  }

  idle(): Promise<void> {
    return this.#planner.idle();
  }

  async flush(): Promise<void> {
    const store = this.#deps.store;
    if (!store) return;
    if (this.#saveTimer) clearTimeout(this.#saveTimer);
    this.#saveTimer = undefined;
    // One write at a time, in order: a later flush never commits before an earlier one.
    while (this.#saving) await this.#saving;
    if (this.#unsaved.size === 0 && this.#removed.length === 0 && !this.#unsavedMeta) return;
    const ids = this.#unsaved;
    const removed = this.#removed;
    this.#unsaved = new Set();
    this.#removed = [];
    this.#unsavedMeta = false;
    const incidents = this.#correlator.snapshot(ids);
    const planner = this.#planner.snapshot(ids);
    const remediation = new Map<string, StoredRemediation>();
    const entry = (incidentId: string) => {
      let r = remediation.get(incidentId);
      if (!r) {
        r = { incidentId, actions: [] };
        remediation.set(incidentId, r);
      }
      return r;
    };
    for (const plan of planner.plans) entry(plan.incidentId).plan = plan;
    for (const action of planner.actions) entry(action.incidentId).actions.push(action);
    const write = {
      meta: {
        savedAtMs: this.#clock(),
        incidentSeq: incidents.seq,
        actionSeq: planner.seq,
        guardrails: planner.guardrails,
        summaryPositions: [...this.#summaryPositions],
      },
      incidents: incidents.incidents,
      remediation: [...remediation.values()],
      removed,
    };
    this.#saving = store.save(write).then(
      () => undefined,
      (error: unknown) => {
        // Keep them unsaved: the next flush writes them again.
        for (const id of ids) if (this.#correlator.has(id)) this.#unsaved.add(id);
        this.#unsavedMeta = true;
        this.#removed.push(...removed);
        this.#deps.logger.error({ err: error, incidents: ids.size }, 'could not write incident state');
        this.#scheduleSave();
      },
    );
    try {
      await this.#saving;
    } finally {
      this.#saving = undefined;
    }
  }

  on(event: 'incident', listener: IncidentListener): void;
  on(event: 'action', listener: ActionListener): void;
  on(event: string, listener: IncidentListener | ActionListener): void {
    this.#events.on(event, listener);
  }

  off(event: 'incident', listener: IncidentListener): void;
  off(event: 'action', listener: ActionListener): void;
  off(event: string, listener: IncidentListener | ActionListener): void {
    this.#events.off(event, listener);
  }

  stop(): void {
    this.#stopped = true;
    if (this.#saveTimer) clearTimeout(this.#saveTimer);
    this.#saveTimer = undefined;
    this.#deps.notifier?.close();
    this.#events.removeAllListeners();
  }

  #rank(incident: Incident): void {
    this.#lastRank.set(incident.id, this.#clock());
    if (this.#lastRank.size > 10_000) this.#lastRank.delete(this.#lastRank.keys().next().value ?? '');
    const before = incident.rootCauses[0];
    const lookback = 30 * 60_000;
    const ours = (c: ChangeEvent) =>
      this.#ownChanges.some((o) => o.object === c.object && Math.abs(c.timeMs - o.timeMs) < 120_000);
    const changes = [
      ...this.#deps.topology.changes(incident.firstSignalMs - lookback),
      ...this.#external.filter((e) => e.timeMs >= incident.firstSignalMs - lookback),
    ].filter((c) => !ours(c));
    incident.rootCauses = rankRootCauses(incident, {
      topology: this.#deps.topology,
      changes,
      changeLookbackMs: lookback,
    });
    const top = incident.rootCauses[0];
    if (top) {
      incident.title = `${top.kind} ${top.object}`;
      if (!before || before.kind !== top.kind || before.object !== top.object) {
        addTimeline(incident, {
          timeMs: this.#clock(),
          type: 'root-cause',
          text: `top root cause: ${top.kind} ${top.object} (${top.reasons[0] ?? ''})`,
        });
      }
    }
    this.#planner.consider(incident);
  }

  #emitChange(incident: Incident, change: IncidentChange): void {
    this.#changed(incident.id);
    this.#deps.notifier?.notify(incident);
    this.#events.emit('incident', incident, change);
  }

  #onAction(action: RemediationAction, incidentId: string): void {
    this.#changed(incidentId);
    if (action.status === 'running') {
      this.#ownChanges.push({ object: action.target.object, timeMs: this.#clock() });
      if (this.#ownChanges.length > 1000) this.#ownChanges.shift();
    }
    const inc = this.#correlator.get(incidentId);
    if (inc) {
      if (!inc.actions.includes(action.id)) inc.actions.push(action.id);
      addTimeline(inc, {
        timeMs: this.#clock(),
        type: 'action',
        text: `${action.type} ${action.target.object}: ${action.status} — ${action.message}`,
      });
      if (action.status === 'running' && inc.status !== 'resolved' && inc.status !== 'mitigating') {
        this.#correlator.setStatus(incidentId, 'mitigating', 'vigil');
      }
      inc.version += 1;
      inc.updatedMs = this.#clock();
      this.#dirty.add(incidentId);
    }
    this.#events.emit('action', action);
  }

  #onEscalate(incidentId: string, reason: string): void {
    this.#changed(incidentId);
    const inc = this.#correlator.get(incidentId);
    if (!inc) return;
    addTimeline(inc, { timeMs: this.#clock(), type: 'escalated', text: reason });
    this.#dirty.add(incidentId);
  }

  /** Marks an incident (its record, plan or actions) for the next state write. */
  #changed(incidentId: string): void {
    if (!this.#deps.store) return;
    this.#unsaved.add(incidentId);
    this.#scheduleSave();
  }

  /** A person's decision is written at once, not after the debounce: it must not come back undone. */
  #writeNow(): void {
    if (this.#deps.store && !this.#stopped) void this.flush();
  }

  #scheduleSave(): void {
    if (!this.#deps.store || this.#saveTimer || this.#stopped) return;
    this.#saveTimer = setTimeout(() => {
      this.#saveTimer = undefined;
      void this.flush();
    }, this.#deps.persistIntervalMs ?? 500);
    this.#saveTimer.unref();
  }

  /**
   * Takes back the state stored before a restart: incidents first (so restored actions find them), then
   * plans, actions and guardrails. The time the aggregator was down does not count as quiet time.
   */
  #restore(state: StoredEngineState): void {
    const now = this.#clock();
    if (state.meta?.summaryPositions) {
      this.#restoredState = true;
      for (const [node, seq] of state.meta.summaryPositions) this.#summaryPositions.set(node, seq);
    }
    const pausedMs = state.meta ? Math.max(0, now - state.meta.savedAtMs) : 0;
    this.#correlator.restore({ seq: state.meta?.incidentSeq ?? 0, incidents: state.incidents }, pausedMs);
    for (const s of state.incidents) {
      if (s.incident.status !== 'resolved' && this.#correlator.has(s.incident.id))
        this.#lastSignal.set(s.incident.id, s.lastIngestMs + pausedMs);
    }
    const plans = state.remediation.flatMap((r) => (r.plan ? [{ ...r.plan, incidentId: r.incidentId }] : []));
    this.#planner.restore({
      seq: state.meta?.actionSeq ?? 0,
      actions: state.remediation.flatMap((r) => r.actions),
      plans,
      guardrails: state.meta?.guardrails ?? { targets: [], recent: [], perIncident: [] },
    });
    // The notifier's memory of what it sent is gone: announce each live incident once more (same dedup key
    // and labels, so receivers fold it into the alert they hold) so that its resolve goes out later.
    for (const s of state.incidents) {
      const inc = this.#correlator.get(s.incident.id);
      if (inc && inc.status !== 'resolved') this.#deps.notifier?.notify(inc, { restored: true });
    }
    const live = state.incidents.filter((s) => s.incident.status !== 'resolved').length;
    if (state.incidents.length > 0 || state.remediation.length > 0)
      this.#deps.logger.info(
        {
          incidents: state.incidents.length,
          live,
          actions: state.remediation.reduce((n, r) => n + r.actions.length, 0),
          downMs: pausedMs,
        },
        'restored incidents, remediation actions and guardrails',
      );
  }
}

export function createIncidentEngine(deps: IncidentEngineDeps): IncidentEngine {
  return new Engine(deps);
}
