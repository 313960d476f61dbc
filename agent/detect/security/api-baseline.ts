// "Unusual API traffic": learns what each user and service account normally does with the Kubernetes API
// (which verb on which resource, cluster-wide or namespaced, in which namespaces, at what rate) and flags
// departures once that identity's learning period is over: a first-ever action (a service account that
// suddenly lists secrets cluster-wide, a first exec), a fan-out into namespaces it never touched, and a
// request-rate burst far above its learned peak. All state is bounded (LRU identities, capped sets).

import { capEvidence, type Severity, type Signal } from '../../../common/signal.ts';
import type { AuditEvent } from './audit-parser.ts';
import { BoundedMap } from './bounded-map.ts';

export interface ApiBaselineOptions {
  /** How long each identity is only observed before departures are flagged. Default 1 h. */
  learningMs?: number;
  maxIdentities?: number;
  maxActionsPerIdentity?: number;
  maxNamespacesPerIdentity?: number;
  /** A minute is a burst when it exceeds both this floor and `burstFactor` × the learned peak minute. */
  burstMinPerMinute?: number;
  burstFactor?: number;
  /** New namespaces touched within `fanOutWindowMs` that make a fan-out. */
  fanOutNamespaces?: number;
  fanOutWindowMs?: number;
  node?: string;
}

interface Profile {
  firstMs: number;
  requests: number;
  actions: Set<string>;
  namespaces: Set<string>;
  minuteStartMs: number;
  minuteCount: number;
  peakPerMinute: number;
  burstFlaggedMinuteMs: number;
  /** Namespaces first touched after learning, with when: the fan-out window. */
  recentNewNamespaces: Array<{ t: number; ns: string }>;
}

export interface ApiBaselineSnapshot {
  version: 1;
  identities: Array<{
    name: string;
    firstMs: number;
    requests: number;
    actions: string[];
    namespaces: string[];
    peakPerMinute: number;
  }>;
}

export const UNUSUAL_API_RULE_ID = 'unusual-api-traffic';
const SENSITIVE_RESOURCES =
  /^(secrets|pods\/(exec|attach|portforward|ephemeralcontainers)|serviceaccounts\/token|nodes\/proxy|certificatesigningrequests.*|(cluster)?role(binding)?s)$/;
const READ_VERBS = new Set(['get', 'list', 'watch']);

export class ApiBehaviourBaseline {
  readonly #o: Required<Omit<ApiBaselineOptions, 'node'>> & { node?: string };
  readonly #profiles: BoundedMap<string, Profile>;
  readonly #seen = new BoundedMap<string, true>(20_000);

  constructor(options: ApiBaselineOptions = {}) {
    this.#o = {
      learningMs: options.learningMs ?? 3_600_000,
      maxIdentities: options.maxIdentities ?? 5_000,
      maxActionsPerIdentity: options.maxActionsPerIdentity ?? 256,
      maxNamespacesPerIdentity: options.maxNamespacesPerIdentity ?? 128,
      burstMinPerMinute: options.burstMinPerMinute ?? 60,
      burstFactor: options.burstFactor ?? 5,
      fanOutNamespaces: options.fanOutNamespaces ?? 3,
      fanOutWindowMs: options.fanOutWindowMs ?? 600_000,
    };
    if (options.node !== undefined) this.#o.node = options.node;
    this.#profiles = new BoundedMap(this.#o.maxIdentities);
  }

  get identities(): number {
    return this.#profiles.size;
  }

  /** What was learned, as plain JSON, so a restarted agent does not go blind for a new learning period. */
  snapshot(): ApiBaselineSnapshot {
    const identities: ApiBaselineSnapshot['identities'] = [];
    for (const [name, p] of this.#profiles.entries()) {
      identities.push({
        name,
        firstMs: p.firstMs,
        requests: p.requests,
        actions: [...p.actions],
        namespaces: [...p.namespaces],
        peakPerMinute: p.peakPerMinute,
      });
    }
    return { version: 1, identities };
  }

  /** Loads a snapshot (oldest identities first, so the LRU order survives); unknown versions are ignored. */
  restore(snapshot: ApiBaselineSnapshot): void {
    if (snapshot.version !== 1) return;
    for (const id of snapshot.identities) {
      this.#profiles.set(id.name, {
        firstMs: id.firstMs,
        requests: id.requests,
        actions: new Set(id.actions.slice(0, this.#o.maxActionsPerIdentity)),
        namespaces: new Set(id.namespaces.slice(0, this.#o.maxNamespacesPerIdentity)),
        minuteStartMs: -1,
        minuteCount: 0,
        peakPerMinute: id.peakPerMinute,
        burstFlaggedMinuteMs: -1,
        recentNewNamespaces: [],
      });
    }
  }

  observe(event: AuditEvent): Signal[] {
    const identity = event.derived.user;
    const sub = event.objectRef?.subresource;
    const counted =
      event.stage === 'ResponseComplete' ||
      (event.stage === 'ResponseStarted' && (sub === 'exec' || sub === 'attach' || sub === 'portforward'));
    if (!identity || !counted || !event.verb || !event.objectRef?.resource) return [];
    if (event.auditID) {
      if (this.#seen.has(event.auditID)) return [];
      this.#seen.set(event.auditID, true);
    }
    const t = event.derived.timeMs;
    let profile = this.#profiles.get(identity);
    if (!profile) {
      profile = {
        firstMs: t,
        requests: 0,
        actions: new Set(),
        namespaces: new Set(),
        minuteStartMs: minute(t),
        minuteCount: 0,
        peakPerMinute: 0,
        burstFlaggedMinuteMs: -1,
        recentNewNamespaces: [],
      };
      this.#profiles.set(identity, profile);
    }
    const learning = t - profile.firstMs < this.#o.learningMs;
    const out: Signal[] = [];
    profile.requests++;

    // Rate: per-minute counts; the learned peak is the busiest minute seen while learning.
    if (minute(t) !== profile.minuteStartMs) {
      if (learning) profile.peakPerMinute = Math.max(profile.peakPerMinute, profile.minuteCount);
      profile.minuteStartMs = minute(t);
      profile.minuteCount = 0;
    }
    profile.minuteCount++;
    if (learning) {
      profile.peakPerMinute = Math.max(profile.peakPerMinute, profile.minuteCount);
    } else {
      const limit = Math.max(this.#o.burstMinPerMinute, this.#o.burstFactor * profile.peakPerMinute);
      if (profile.minuteCount > limit && profile.burstFlaggedMinuteMs !== profile.minuteStartMs) {
        profile.burstFlaggedMinuteMs = profile.minuteStartMs;
        out.push(
          this.#signal(identity, event, 'warning', 'T1078', profile.minuteCount, 'rate burst', {
            explanation: `${identity} made ${profile.minuteCount} API requests in one minute (learned peak ${profile.peakPerMinute}/min)`,
          }),
        );
      }
    }

    // Actions: verb on resource[/subresource], namespaced or cluster-wide.
    const resource = event.derived.resource;
    const scope = event.objectRef.namespace ? 'namespaced' : 'all namespaces';
    const action = `${event.verb} ${resource} (${scope})`;
    if (!profile.actions.has(action) && profile.actions.size < this.#o.maxActionsPerIdentity) {
      profile.actions.add(action);
      if (!learning) {
        const sensitive = SENSITIVE_RESOURCES.test(resource);
        const technique = resource.startsWith('secrets')
          ? 'T1552.007'
          : /^pods\/(exec|attach|ephemeralcontainers)/.test(resource)
            ? 'T1609'
            : /role/.test(resource)
              ? 'T1098'
              : READ_VERBS.has(event.verb)
                ? 'T1613'
                : 'T1078';
        out.push(
          this.#signal(identity, event, sensitive ? 'warning' : 'info', technique, 1, 'first-ever action', {
            explanation: `${identity} did ${action} for the first time (learned ${profile.actions.size - 1} actions over ${profile.requests - 1} requests)`,
          }),
        );
      }
    }

    // Namespaces: a burst of namespaces never touched before is a fan-out (lateral movement, harvesting).
    const ns = event.objectRef.namespace;
    if (ns && !profile.namespaces.has(ns) && profile.namespaces.size < this.#o.maxNamespacesPerIdentity) {
      profile.namespaces.add(ns);
      if (!learning) {
        const recent = profile.recentNewNamespaces.filter((x) => t - x.t <= this.#o.fanOutWindowMs);
        recent.push({ t, ns });
        profile.recentNewNamespaces = recent;
        if (recent.length === this.#o.fanOutNamespaces) {
          const names = recent.map((x) => x.ns).join(', ');
          const minutes = Math.round(this.#o.fanOutWindowMs / 60_000);
          out.push(
            this.#signal(identity, event, 'warning', 'T1613', recent.length, 'namespace fan-out', {
              explanation: `${identity} reached ${recent.length} namespaces it never used within ${minutes} min: ${names}`,
            }),
          );
        }
      }
    }
    return out;
  }

  #signal(
    identity: string,
    event: AuditEvent,
    severity: Severity,
    technique: string,
    count: number,
    reason: string,
    text: { explanation: string },
  ): Signal {
    const subject: Signal['subject'] = { kind: 'user', name: identity };
    if (this.#o.node !== undefined) subject.node = this.#o.node;
    const attributes: Record<string, string> = {
      rule: UNUSUAL_API_RULE_ID,
      reason,
      verb: event.verb ?? '',
      object: event.derived.object,
    };
    if (event.derived.sourceIP) attributes['source'] = event.derived.sourceIP;
    return {
      kind: 'security.unusual_api_traffic',
      subject,
      timeMs: event.derived.timeMs,
      severity,
      score: severity === 'warning' ? 0.6 : 0.35,
      explanation: `Unusual API traffic (${reason}): ${text.explanation}`,
      evidence: capEvidence({
        lines: [`${event.verb} ${event.requestURI ?? ''}`],
        values: { count },
        attributes,
      }),
      technique,
      source: 'security.audit.baseline',
    };
  }
}

function minute(t: number): number {
  return t - (t % 60_000);
}
