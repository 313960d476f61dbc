// The remediation loop for incidents: the first policy rule matching an incident's top root cause gives an
// escalation ladder; each step's action passes the guardrails, then follows its mode (off, dry-run,
// approve with a timeout, auto). After an action succeeds the planner verifies that the incident's signals
// stopped; if they did not (or the action failed) it escalates to the next step, and past the last step to
// a person. Every decision goes to the audit trail.
import type { Logger } from '../../common/log.ts';
import { maxIdSequence } from '../correlate/ids.ts';
import type { Incident } from '../correlate/incident.ts';
import type { Topology } from '../state/topology.ts';
import { type ActionExecutor, FINAL_STATUSES, type RemediationAction } from './action.ts';
import type { AuditTrail } from './audit.ts';
import { type GuardrailSnapshot, GuardrailState } from './guardrails.ts';
import { matchRule, modeFor, type Policy, type PolicyRule } from './policy.ts';
import { parseObject, resolveTargets } from './targets.ts';

export interface PlannerDeps {
  policy: Policy;
  topology: Topology;
  clock: () => number;
  logger: Logger;
  audit: AuditTrail;
  /** Kubernetes API actions; absent means they fail with a clear message. */
  kube?: ActionExecutor;
  /** `agent.*` commands; absent means they fail with a clear message. */
  agent?: ActionExecutor;
  /** Called on every change of an action (the engine turns it into events and timeline entries). */
  onAction?: (action: RemediationAction, incidentId: string) => void;
  /** Called when the ladder is exhausted and a person must act. */
  onEscalate?: (incidentId: string, reason: string) => void;
  /**
   * Awaited after an action is marked running and before it executes: the engine writes its state, so a
   * process killed mid-action finds it `interrupted` (and its cooldown recorded) and never runs it twice.
   */
  beforeExecute?: () => Promise<void>;
}

interface Plan {
  rule: PolicyRule;
  causeKey: string;
  step: number;
  actionIds: string[];
  /** Ladder exhausted or healed: nothing more to do for this incident. */
  done: boolean;
}

/** A plan as plain data: the rule is kept by name and looked up in the policy again on restore. */
export interface StoredPlan {
  incidentId: string;
  rule: string;
  causeKey: string;
  step: number;
  actionIds: string[];
  done: boolean;
}

/** The planner's state as plain data (persisted across aggregator restarts). */
export interface PlannerSnapshot {
  /** Last action sequence number: new ids never collide with restored ones. */
  seq: number;
  actions: RemediationAction[];
  plans: StoredPlan[];
  guardrails: GuardrailSnapshot;
}

export class RemediationPlanner {
  readonly #deps: PlannerDeps;
  readonly #guard: GuardrailState;
  readonly #actions = new Map<string, RemediationAction>();
  readonly #plans = new Map<string, Plan>();
  readonly #inflight = new Set<Promise<void>>();
  #seq = 0;

  constructor(deps: PlannerDeps) {
    this.#deps = deps;
    this.#guard = new GuardrailState(deps.policy.guardrails, deps.topology);
  }

  actions(filter: { incidentId?: string; status?: string } = {}): RemediationAction[] {
    return [...this.#actions.values()].filter(
      (a) =>
        (filter.incidentId === undefined || a.incidentId === filter.incidentId) &&
        (filter.status === undefined || a.status === filter.status),
    );
  }

  get(id: string): RemediationAction | undefined {
    return this.#actions.get(id);
  }

  /** Resolves once every action started so far has finished executing (for tests and shutdown). */
  async idle(): Promise<void> {
    while (this.#inflight.size > 0) await Promise.all([...this.#inflight]);
  }

  /**
   * The planner's state; with `incidentIds`, only the actions and plans of those incidents (the guardrails
   * and the sequence are always whole). Actions and plans are copies: later changes do not leak into them.
   */
  snapshot(incidentIds?: ReadonlySet<string>): PlannerSnapshot {
    const wanted = (id: string) => incidentIds === undefined || incidentIds.has(id);
    const actions: RemediationAction[] = [];
    for (const a of this.#actions.values())
      if (wanted(a.incidentId)) actions.push({ ...a, target: { ...a.target }, params: { ...a.params } });
    const plans: StoredPlan[] = [];
    for (const [incidentId, p] of this.#plans) {
      if (!wanted(incidentId)) continue;
      const { rule, causeKey, step, actionIds, done } = p;
      plans.push({ incidentId, rule: rule.name, causeKey, step, actionIds: [...actionIds], done });
    }
    return { seq: this.#seq, actions, plans, guardrails: this.#guard.snapshot(this.#deps.clock()) };
  }

  /**
   * Takes back a snapshot taken before a restart. Approvals still wait (until their deadline); an action
   * that was running when the process died is marked `interrupted` (audited) and never run again by itself:
   * its plan stops and a person must look. A plan whose rule left the policy does nothing more.
   */
  restore(snapshot: PlannerSnapshot): void {
    this.#seq = maxIdSequence(
      snapshot.actions.map((a) => a.id),
      Math.max(this.#seq, snapshot.seq),
    );
    for (const a of snapshot.actions) this.#actions.set(a.id, a);
    const orphaned = new Map<string, string>();
    for (const p of snapshot.plans) {
      const rule = this.#deps.policy.rules.find((r) => r.name === p.rule);
      if (!rule) orphaned.set(p.incidentId, p.rule);
      if (!rule && !p.done)
        this.#deps.logger.warn(
          { incident: p.incidentId, rule: p.rule },
          'the remediation rule of a restored plan is no longer in the policy; nothing more is planned for it',
        );
      this.#plans.set(p.incidentId, {
        rule: rule ?? { name: p.rule, match: { kinds: ['*'], minScore: 0 }, actions: [] },
        causeKey: p.causeKey,
        step: p.step,
        actionIds: p.actionIds,
        done: p.done || !rule,
      });
    }
    this.#guard.restore(snapshot.guardrails);
    for (const a of snapshot.actions) {
      const rule = orphaned.get(a.incidentId);
      // Its rule left the policy while the aggregator was down: nobody may approve what is no longer allowed.
      if (a.status === 'pending_approval' && rule !== undefined)
        this.#finish(a, 'skipped', `rule ${rule} is no longer in the policy`, 'vigil');
    }
    for (const a of snapshot.actions) {
      if (a.status !== 'running') continue;
      this.#finish(
        a,
        'interrupted',
        'the aggregator stopped while this action ran; its outcome is unknown and it is not run again',
        'vigil',
      );
      const plan = this.#plans.get(a.incidentId);
      if (plan && !plan.done) {
        plan.done = true;
        const text = `${a.type} on ${a.target.object} was interrupted by an aggregator restart; a person must check its outcome`;
        this.#audit(a, 'escalated', text, 'vigil');
        this.#deps.onEscalate?.(a.incidentId, text);
      }
    }
  }

  /** Drops the actions and plans of incidents that are gone (pruned), so memory stays bounded. */
  forget(incidentIds: readonly string[]): void {
    if (incidentIds.length === 0) return;
    const gone = new Set(incidentIds);
    for (const [id, a] of this.#actions) if (gone.has(a.incidentId)) this.#actions.delete(id);
    for (const id of gone) this.#plans.delete(id);
    this.#guard.forget(gone);
  }

  /** Looks at an incident after it opened or changed: starts its plan, or re-plans a not-yet-acted plan. */
  consider(incident: Incident): void {
    if (incident.status === 'resolved') return;
    const match = matchRule(this.#deps.policy, incident);
    if (!match) return;
    const causeKey = `${match.cause.kind}|${match.cause.object}`;
    const plan = this.#plans.get(incident.id);
    if (plan) {
      if (plan.causeKey === causeKey) return;
      // The ranking changed its mind. Only re-plan while nothing ran: a waiting approval is superseded. A
      // plan that ended without acting (its rule had no target for the first cause, or every action was
      // off or blocked) is re-planned too: an incident first ranked on a node's memory trend, then on the
      // OOM kill that explains it, must get the OOM kill's restart.
      const acted = plan.actionIds.some((id) => {
        const a = this.#actions.get(id);
        return a && a.status !== 'pending_approval' && a.status !== 'blocked' && a.status !== 'skipped';
      });
      if (acted) return;
      for (const id of plan.actionIds) {
        const a = this.#actions.get(id);
        if (a?.status === 'pending_approval')
          this.#finish(a, 'skipped', 'superseded: the root cause changed', 'vigil');
      }
    }
    const next: Plan = { rule: match.rule, causeKey, step: 0, actionIds: [], done: false };
    this.#plans.set(incident.id, next);
    this.#propose(incident, next);
  }

  async approve(id: string, by: string): Promise<RemediationAction> {
    const a = this.#actions.get(id);
    if (!a) throw new ActionNotFoundError(id);
    if (a.status !== 'pending_approval') throw new ActionStateError(id, a.status, 'approve');
    const now = this.#deps.clock();
    if (a.deadlineMs !== undefined && now >= a.deadlineMs) {
      this.#finish(a, 'expired', 'approval arrived after the deadline; nothing was done', by);
      return a;
    }
    a.decidedBy = by;
    this.#audit(a, 'approved', `approved by ${by}`, by);
    // The cluster may have changed while it waited: the guardrails decide again.
    const verdict = this.#guard.check(a, now);
    if (!verdict.allowed) {
      this.#finish(a, 'blocked', verdict.reason, 'vigil', verdict.guardrail);
      return a;
    }
    await this.#run(a);
    return a;
  }

  reject(id: string, by: string, reason = ''): RemediationAction {
    const a = this.#actions.get(id);
    if (!a) throw new ActionNotFoundError(id);
    if (a.status !== 'pending_approval') throw new ActionStateError(id, a.status, 'reject');
    a.decidedBy = by;
    this.#finish(a, 'rejected', `rejected by ${by}${reason ? `: ${reason}` : ''}`, by);
    const plan = this.#plans.get(a.incidentId);
    if (plan) plan.done = true;
    return a;
  }

  /**
   * Expires approvals past their deadline and verifies finished actions. `lastSignalMs(incidentId)` is the
   * aggregator-clock time the incident last received a signal.
   */
  tick(
    now: number,
    incident: (id: string) => Incident | undefined,
    lastSignalMs: (id: string) => number,
  ): void {
    const verifyMs = this.#deps.policy.guardrails.verifySeconds * 1000;
    for (const a of this.#actions.values()) {
      if (a.status === 'pending_approval' && a.deadlineMs !== undefined && now >= a.deadlineMs) {
        this.#finish(a, 'expired', 'no approval before the deadline; nothing was done', 'vigil');
        continue;
      }
      if (a.status !== 'succeeded' || a.verification !== 'pending' || a.finishedMs === undefined) continue;
      if (now - a.finishedMs < verifyMs) continue;
      const inc = incident(a.incidentId);
      // Healed when the incident resolved, or no signal arrived in the second half of the verification window.
      const quietSince = now - verifyMs / 2;
      const quiet = !inc || inc.status === 'resolved' || lastSignalMs(a.incidentId) < quietSince;
      // One-shot signals (a node condition) go quiet whatever happens: the target must also look healthy.
      const health = targetHealthy(a.target.object, this.#deps.topology);
      const healed = quiet && health !== false;
      a.verification = healed ? 'healed' : 'not_healed';
      a.updatedMs = now;
      this.#audit(
        a,
        'verified',
        healed
          ? 'the incident’s signals stopped after the action'
          : quiet
            ? `signals stopped but ${a.target.object} is still unhealthy`
            : 'signals continued after the action',
        'vigil',
      );
      this.#deps.onAction?.(a, a.incidentId);
      const plan = this.#plans.get(a.incidentId);
      if (!plan) continue;
      if (healed) plan.done = true;
      else if (inc) this.#escalate(inc, plan, `${a.type} on ${a.target.object} did not stop the signals`);
    }
  }

  #propose(incident: Incident, plan: Plan): void {
    const step = plan.rule.actions[plan.step];
    const cause = incident.rootCauses[0];
    if (!step || !cause) return;
    const targets = resolveTargets(step.type, cause, incident, this.#deps.topology);
    const now = this.#deps.clock();
    if (targets.length === 0) {
      const a = this.#newAction(
        incident,
        plan,
        step.type,
        { object: cause.object, name: cause.object },
        step.params,
        now,
      );
      a.mode = modeFor(this.#deps.policy, step.type, step.mode);
      this.#finish(a, 'skipped', `${step.type} has no target for ${cause.object}`, 'vigil');
      this.#escalate(incident, plan, `no target for ${step.type}`);
      return;
    }
    for (const target of targets) {
      const a = this.#newAction(incident, plan, step.type, target, step.params, now);
      a.mode = modeFor(this.#deps.policy, step.type, step.mode);
      this.#audit(
        a,
        'proposed',
        `rule ${plan.rule.name} step ${plan.step + 1} for ${cause.kind} ${cause.object} (mode ${a.mode})`,
        'vigil',
      );
      if (a.mode === 'off') {
        this.#finish(a, 'skipped', `mode for ${a.type} is off`, 'vigil');
        continue;
      }
      const verdict = this.#guard.check(a, now);
      if (!verdict.allowed) {
        this.#finish(a, 'blocked', verdict.reason, 'vigil', verdict.guardrail);
        continue;
      }
      if (a.mode === 'dry-run') {
        this.#finish(a, 'dry_run', `would ${a.type} ${a.target.object}`, 'vigil');
        continue;
      }
      if (a.mode === 'approve') {
        a.deadlineMs = now + this.#deps.policy.guardrails.approvalTimeoutSeconds * 1000;
        a.message = `waiting for approval until ${new Date(a.deadlineMs).toISOString()}`;
        this.#deps.onAction?.(a, a.incidentId);
        continue;
      }
      const p = this.#run(a).finally(() => this.#inflight.delete(p));
      this.#inflight.add(p);
    }
    if (this.#stepFinished(plan) && !this.#stepHasSuccess(plan)) {
      this.#escalate(incident, plan, 'no action of this step could run');
    }
  }

  #newAction(
    incident: Incident,
    plan: Plan,
    type: RemediationAction['type'],
    target: RemediationAction['target'],
    params: Record<string, string>,
    now: number,
  ): RemediationAction {
    this.#seq += 1;
    const a: RemediationAction = {
      id: `act-${now.toString(36)}-${this.#seq.toString(36)}`,
      incidentId: incident.id,
      rule: plan.rule.name,
      type,
      target,
      params: { ...params },
      mode: 'off',
      status: 'pending_approval',
      step: plan.step,
      createdMs: now,
      updatedMs: now,
      message: '',
    };
    this.#actions.set(a.id, a);
    plan.actionIds.push(a.id);
    return a;
  }

  async #run(a: RemediationAction): Promise<void> {
    const now = this.#deps.clock();
    this.#guard.record(a, now);
    a.status = 'running';
    a.updatedMs = now;
    a.message = 'running';
    this.#audit(a, 'executed', `${a.type} ${a.target.object}`, a.decidedBy ?? 'vigil');
    this.#deps.onAction?.(a, a.incidentId);
    try {
      await this.#deps.beforeExecute?.();
    } catch (error) {
      // Not written: run it all the same (remediation must not wait on a sick disk); the log says so.
      this.#deps.logger.error({ err: error, action: a.id }, 'could not write state before running an action');
    }
    const executor = a.type.startsWith('agent.') ? this.#deps.agent : this.#deps.kube;
    let result: { ok: boolean; message: string };
    if (!executor) {
      result = {
        ok: false,
        message: `no ${a.type.startsWith('agent.') ? 'agent command channel' : 'Kubernetes client'} configured`,
      };
    } else {
      try {
        result = await executor.execute(a);
      } catch (error) {
        result = { ok: false, message: (error as Error).message };
      }
    }
    this.#deps.logger.info(
      { action: a.id, type: a.type, target: a.target.object, ok: result.ok },
      result.message,
    );
    if (result.ok) {
      a.verification = 'pending';
      this.#finish(a, 'succeeded', result.message, a.decidedBy ?? 'vigil');
    } else {
      this.#finish(a, 'failed', result.message, a.decidedBy ?? 'vigil');
      const plan = this.#plans.get(a.incidentId);
      if (plan && this.#stepFinished(plan) && !this.#stepHasSuccess(plan)) {
        this.#deps.onEscalate?.(a.incidentId, `${a.type} failed: ${result.message}`);
        this.#advance(a.incidentId, plan);
      }
    }
  }

  #finish(
    a: RemediationAction,
    status: RemediationAction['status'],
    message: string,
    actor: string,
    guardrail?: string,
  ): void {
    const now = this.#deps.clock();
    a.status = status;
    a.message = message;
    a.updatedMs = now;
    if (FINAL_STATUSES.has(status)) a.finishedMs = now;
    const decision = status === 'dry_run' ? 'dry-run' : status;
    this.#audit(a, decision, message, actor, guardrail);
    this.#deps.onAction?.(a, a.incidentId);
  }

  #stepActions(plan: Plan): RemediationAction[] {
    return plan.actionIds
      .map((id) => this.#actions.get(id))
      .filter((a): a is RemediationAction => a?.step === plan.step);
  }

  #stepFinished(plan: Plan): boolean {
    return this.#stepActions(plan).every((a) => FINAL_STATUSES.has(a.status));
  }

  #stepHasSuccess(plan: Plan): boolean {
    return this.#stepActions(plan).some((a) => a.status === 'succeeded');
  }

  #escalate(incident: Incident, plan: Plan, reason: string): void {
    this.#advance(incident.id, plan, incident, reason);
  }

  #advance(incidentId: string, plan: Plan, incident?: Incident, reason = ''): void {
    if (plan.done) return;
    if (plan.step + 1 < plan.rule.actions.length) {
      plan.step += 1;
      const target = incident ?? this.#incidentFor?.(incidentId);
      if (target) this.#propose(target, plan);
      return;
    }
    plan.done = true;
    const text = `no further automatic action (rule ${plan.rule.name} exhausted${reason ? `: ${reason}` : ''}); a person must act`;
    this.#deps.audit.add({
      timeMs: this.#deps.clock(),
      incidentId,
      actionId: '',
      type: '',
      target: '',
      decision: 'escalated',
      reason: text,
      actor: 'vigil',
    });
    this.#deps.onEscalate?.(incidentId, text);
  }

  /** Set by the engine so a failed action can escalate to the incident's next step. */
  #incidentFor?: (id: string) => Incident | undefined;

  setIncidentLookup(lookup: (id: string) => Incident | undefined): void {
    this.#incidentFor = lookup;
  }

  #audit(a: RemediationAction, decision: string, reason: string, actor: string, guardrail?: string): void {
    this.#deps.audit.add({
      timeMs: this.#deps.clock(),
      incidentId: a.incidentId,
      actionId: a.id,
      type: a.type,
      target: a.target.object,
      decision,
      reason,
      actor,
      ...(guardrail ? { guardrail } : {}),
    });
  }
}

/** Whether the topology shows the target healthy again; undefined when it cannot tell (e.g. a replaced pod). */
export function targetHealthy(object: string, topology: Topology): boolean | undefined {
  const { kind, namespace, name } = parseObject(object);
  if (kind === 'Pod') return topology.pod(namespace, name)?.ready;
  if (kind === 'Node') {
    const node = topology.node(name);
    if (!node) return undefined;
    const pressure = Object.entries(node.conditions).some(
      ([type, status]) => type !== 'Ready' && status === 'True',
    );
    return node.ready && !pressure;
  }
  if (kind === 'Deployment' || kind === 'StatefulSet' || kind === 'DaemonSet') {
    // Pods not scheduled yet count too: a rollout whose new pods cannot be placed has not healed.
    const pods = topology.podsOfWorkload(object);
    return pods.length === 0 ? undefined : pods.every((p) => p.ready);
  }
  return undefined;
}

export class ActionNotFoundError extends Error {
  override readonly name = 'ActionNotFoundError';
  readonly code = 'NOT_FOUND';
  constructor(id: string) {
    super(`no action ${id}`);
  }
}

export class ActionStateError extends Error {
  override readonly name = 'ActionStateError';
  readonly code = 'FAILED_PRECONDITION';
  constructor(id: string, status: string, verb: string) {
    super(`cannot ${verb} action ${id}: it is ${status}`);
  }
}
