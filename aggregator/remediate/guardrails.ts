// Guardrails: every proposed action passes these checks before it runs (and again when an approval
// arrives, since the cluster may have changed meanwhile). Each check returns the reason it blocks, so the
// audit trail says exactly why nothing happened.
import type { Topology } from '../state/topology.ts';
import type { RemediationAction } from './action.ts';
import type { Guardrails } from './policy.ts';

export type Verdict = { allowed: true } | { allowed: false; guardrail: string; reason: string };

/** What the guardrails remember of past actions, as plain data (persisted across aggregator restarts). */
export interface GuardrailSnapshot {
  /** Per target object: when it was last acted on, by which incident, and when per action type. */
  targets: Array<{ object: string; timeMs: number; incidentId: string; types: Array<[string, number]> }>;
  /** Times of recent actions (rate limit). */
  recent: number[];
  /** Actions run per incident (blast radius). */
  perIncident: Array<[string, number]>;
}

const DISRUPTIVE_POD = new Set(['pod.restart', 'pod.quarantine', 'agent.container_restart']);
const NODE_LEVEL = new Set(['node.cordon', 'node.drain', 'agent.node_taint', 'agent.node_cordon']);

function glob(pattern: string): RegExp {
  return new RegExp(`^${pattern.replace(/[.+?^${}()|[\]\\]/g, '\\$&').replace(/\*/g, '.*')}$`);
}

export class GuardrailState {
  readonly #config: Guardrails;
  readonly #topology: Topology;
  /** Per target: when it was last acted on, by which incident and with which action types. */
  readonly #lastByTarget = new Map<
    string,
    { timeMs: number; incidentId: string; types: Map<string, number> }
  >();
  #recent: number[] = [];
  readonly #perIncident = new Map<string, number>();
  readonly #protected: RegExp[];
  readonly #optOut: [string, string];

  constructor(config: Guardrails, topology: Topology) {
    this.#config = config;
    this.#topology = topology;
    this.#protected = config.protectedNamespaces.map(glob);
    const eq = config.optOutLabel.indexOf('=');
    this.#optOut = [config.optOutLabel.slice(0, eq), config.optOutLabel.slice(eq + 1)];
  }

  get config(): Guardrails {
    return this.#config;
  }

  check(action: RemediationAction, now: number): Verdict {
    const t = action.target;
    const block = (guardrail: string, reason: string): Verdict => ({ allowed: false, guardrail, reason });
    if (t.namespace && this.#protected.some((re) => re.test(t.namespace ?? ''))) {
      return block('protected-namespace', `namespace ${t.namespace} is protected`);
    }
    const [optKey, optValue] = this.#optOut;
    const labelled = (labels: Record<string, string> | undefined) => labels?.[optKey] === optValue;
    const pods = this.#podsAffected(action);
    const optedOut = pods.find((p) => labelled(p.labels));
    if (optedOut)
      return block(
        'opt-out',
        `pod ${optedOut.namespace}/${optedOut.name} carries ${this.#config.optOutLabel}`,
      );
    if (t.node && (NODE_LEVEL.has(action.type) || action.type.startsWith('agent.'))) {
      const node = this.#topology.node(t.node);
      if (labelled(node?.labels))
        return block('opt-out', `node ${t.node} carries ${this.#config.optOutLabel}`);
      if (NODE_LEVEL.has(action.type)) {
        const label = this.#config.protectedNodeLabels.find((l) => node?.labels[l] !== undefined);
        if (label) return block('protected-node', `node ${t.node} has ${label}`);
      }
    }
    // The same action on the same target, or any action on it for another incident, waits out the cooldown;
    // the next step of one incident's escalation ladder on the same target does not.
    const last = this.#lastByTarget.get(t.object);
    const cooldownMs = this.#config.cooldownSeconds * 1000;
    if (last) {
      const sameType = last.types.get(action.type);
      const at =
        sameType !== undefined && now - sameType < cooldownMs
          ? sameType
          : last.incidentId !== action.incidentId
            ? last.timeMs
            : undefined;
      if (at !== undefined && now - at < cooldownMs) {
        return block(
          'cooldown',
          `${t.object} was acted on ${Math.round((now - at) / 1000)} s ago (cooldown ${this.#config.cooldownSeconds} s)`,
        );
      }
    }
    const windowMs = this.#config.rateLimit.perSeconds * 1000;
    const recent = this.#recent.filter((ms) => now - ms < windowMs);
    if (recent.length >= this.#config.rateLimit.actions) {
      return block(
        'rate-limit',
        `${recent.length} actions in the last ${this.#config.rateLimit.perSeconds} s (limit ${this.#config.rateLimit.actions})`,
      );
    }
    const done = this.#perIncident.get(action.incidentId) ?? 0;
    if (done >= this.#config.maxActionsPerIncident) {
      return block(
        'blast-radius',
        `incident already had ${done} actions (limit ${this.#config.maxActionsPerIncident})`,
      );
    }
    if (pods.length > this.#config.maxPodsPerAction) {
      return block(
        'blast-radius',
        `would disrupt ${pods.length} pods (limit ${this.#config.maxPodsPerAction})`,
      );
    }
    const health = this.#healthyFraction(action);
    if (health && health.fraction < this.#config.minHealthyFraction) {
      return block(
        'min-healthy',
        `only ${health.healthy} of ${health.total} ${health.of} are healthy (minimum ${Math.round(this.#config.minHealthyFraction * 100)} %)`,
      );
    }
    return { allowed: true };
  }

  /** Records an action that ran (or was sent), for cooldown, rate limit and the per-incident cap. */
  record(action: RemediationAction, now: number): void {
    const last = this.#lastByTarget.get(action.target.object);
    const types = last?.types ?? new Map<string, number>();
    types.set(action.type, now);
    this.#lastByTarget.set(action.target.object, { timeMs: now, incidentId: action.incidentId, types });
    const windowMs = this.#config.rateLimit.perSeconds * 1000;
    this.#recent = this.#recent.filter((ms) => now - ms < windowMs);
    this.#recent.push(now);
    this.#perIncident.set(action.incidentId, (this.#perIncident.get(action.incidentId) ?? 0) + 1);
  }

  /** The state worth keeping at `now`: targets still cooling down, actions still inside the rate window. */
  snapshot(now: number): GuardrailSnapshot {
    const cooldownMs = this.#config.cooldownSeconds * 1000;
    const windowMs = this.#config.rateLimit.perSeconds * 1000;
    const targets: GuardrailSnapshot['targets'] = [];
    for (const [object, last] of this.#lastByTarget) {
      const types = [...last.types].filter(([, ms]) => now - ms < cooldownMs);
      if (now - last.timeMs < cooldownMs || types.length > 0)
        targets.push({ object, timeMs: last.timeMs, incidentId: last.incidentId, types });
    }
    return {
      targets,
      recent: this.#recent.filter((ms) => now - ms < windowMs),
      perIncident: [...this.#perIncident],
    };
  }

  /** Takes back a snapshot: cooldowns and the rate limit hold across a restart (times are wall-clock). */
  restore(snapshot: GuardrailSnapshot): void {
    for (const t of snapshot.targets) {
      this.#lastByTarget.set(t.object, {
        timeMs: t.timeMs,
        incidentId: t.incidentId,
        types: new Map(t.types),
      });
    }
    this.#recent = [...snapshot.recent, ...this.#recent].sort((a, b) => a - b);
    for (const [id, n] of snapshot.perIncident) this.#perIncident.set(id, n);
  }

  /** Drops the per-incident counts of incidents that are gone (bounded memory). */
  forget(incidentIds: Iterable<string>): void {
    for (const id of incidentIds) this.#perIncident.delete(id);
  }

  #podsAffected(action: RemediationAction) {
    const t = action.target;
    switch (action.type) {
      case 'pod.restart':
      case 'pod.quarantine':
      case 'agent.container_restart': {
        const pod = t.namespace ? this.#topology.pod(t.namespace, t.name) : undefined;
        return pod ? [pod] : [];
      }
      case 'deployment.rollout_restart':
      case 'deployment.rollback':
      case 'deployment.scale':
        return this.#workloadPods(t.object);
      case 'node.drain':
        return t.node ? this.#topology.podsOnNode(t.node) : [];
      default:
        return [];
    }
  }

  #workloadPods(workload: string) {
    return this.#topology.podsOfWorkload(workload);
  }

  /** Health of what is left when the target is taken out: the workload's other pods, or the other nodes. */
  #healthyFraction(
    action: RemediationAction,
  ): { healthy: number; total: number; of: string; fraction: number } | undefined {
    const t = action.target;
    if (DISRUPTIVE_POD.has(action.type) && t.namespace) {
      const pod = this.#topology.pod(t.namespace, t.name);
      if (!pod?.workload) return undefined;
      const others = this.#workloadPods(pod.workload).filter((p) => p.name !== pod.name);
      if (others.length === 0) return undefined;
      const healthy = others.filter((p) => p.ready).length;
      return {
        healthy,
        total: others.length,
        of: `other pods of ${pod.workload}`,
        fraction: healthy / others.length,
      };
    }
    if (NODE_LEVEL.has(action.type) && t.node) {
      const others = this.#topology.nodes().filter((n) => n.name !== t.node);
      if (others.length === 0) return undefined;
      const healthy = others.filter((n) => n.ready && !n.unschedulable).length;
      return { healthy, total: others.length, of: 'other nodes', fraction: healthy / others.length };
    }
    return undefined;
  }
}
