// Groups signals into incidents by time and topology (anchors.ts), folds repeats into counts, merges
// incidents that turn out to share a cause, and resolves incidents whose signals went quiet. It knows
// nothing of ranking, remediation or notification: the engine (engine.ts) composes those.
import { SEVERITIES, type Severity, type Signal } from '../../common/signal.ts';
import type { Topology } from '../state/topology.ts';
import { type Anchors, anchorsFor, calledServices, subjectKey } from './anchors.ts';
import { maxIdSequence } from './ids.ts';
import { addTimeline, type Incident, type SignalGroup } from './incident.ts';

export interface CorrelatorOptions {
  /** A signal joins an incident whose latest signal is at most this old (event time). */
  windowMs: number;
  /** An incident resolves by itself once no signal arrived for this long. */
  quietMs: number;
  /** Signals below this severity join incidents but never open one (a normal new log template is not an incident). */
  minOpenSeverity: Severity;
  /** Distinct kind+subject groups kept per incident; more fold into one overflow group per kind. */
  maxGroups: number;
  /** Low-severity signals kept this long to attach to an incident that opens just after them. */
  pendingMs: number;
  maxPending: number;
}

export const DEFAULT_CORRELATOR_OPTIONS: CorrelatorOptions = {
  windowMs: 5 * 60_000,
  quietMs: 5 * 60_000,
  minOpenSeverity: 'warning',
  maxGroups: 500,
  pendingMs: 2 * 60_000,
  maxPending: 10_000,
};

export interface IngestResult {
  incident: Incident;
  opened: boolean;
  /** True when the signal started a new kind+subject group (not a repeat). */
  newGroup: boolean;
  /** Incidents folded into `incident` (now resolved as merged). */
  merged: Incident[];
}

/** One incident as plain data, with what the correlator needs to keep correlating into it after a restart. */
export interface StoredIncident {
  incident: Incident;
  /** Anchors gathered from every signal it took (not only the groups' exemplars); empty once resolved. */
  anchors: { identity: string[]; calls: string[]; hosts: string[] };
  /** Aggregator-clock time of its latest signal (quiet-time resolution). */
  lastIngestMs: number;
}

/** The correlator's state as plain data (persisted across aggregator restarts). */
export interface CorrelatorSnapshot {
  /** Last incident sequence number: new ids never collide with restored ones. */
  seq: number;
  incidents: StoredIncident[];
}

interface Tracked {
  incident: Incident;
  anchors: { identity: Set<string>; calls: Set<string>; hosts: Set<string> };
  groupIndex: Map<string, SignalGroup>;
  /** Clock time of the latest signal (quiet time is measured on the aggregator's clock, not agents'). */
  lastIngestMs: number;
}

interface Pending {
  signal: Signal;
  anchors: Anchors;
  calls: string[];
  atMs: number;
}

type Index = Map<string, Set<string>>;

function rank(s: Severity): number {
  return SEVERITIES.indexOf(s);
}

function indexAdd(index: Index, key: string, id: string): void {
  const set = index.get(key) ?? new Set<string>();
  index.set(key, set);
  set.add(id);
}

function indexRemove(index: Index, key: string, id: string): void {
  const set = index.get(key);
  if (!set) return;
  set.delete(id);
  if (set.size === 0) index.delete(key);
}

export class Correlator {
  readonly #topology: Topology;
  readonly #options: CorrelatorOptions;
  readonly #clock: () => number;
  readonly #tracked = new Map<string, Tracked>();
  readonly #resolved = new Map<string, Incident>();
  readonly #identity: Index = new Map();
  readonly #calls: Index = new Map();
  readonly #hosts: Index = new Map();
  #pending: Pending[] = [];
  #seq = 0;

  constructor(topology: Topology, clock: () => number, options: Partial<CorrelatorOptions> = {}) {
    this.#topology = topology;
    this.#clock = clock;
    this.#options = { ...DEFAULT_CORRELATOR_OPTIONS, ...options };
  }

  get options(): CorrelatorOptions {
    return this.#options;
  }

  ingest(signal: Signal): IngestResult | undefined {
    const now = this.#clock();
    const calls = calledServices(signal, this.#topology);
    const anchors = anchorsFor(signal, this.#topology, calls);
    const matches = this.#matching(anchors, signal.timeMs);
    if (matches.length === 0) {
      if (rank(signal.severity) < rank(this.#options.minOpenSeverity)) {
        this.#remember({ signal, anchors, calls, atMs: now });
        return undefined;
      }
      const tracked = this.#open(signal, now);
      const newGroup = this.#attach(tracked, signal, anchors, calls, now);
      this.#adoptPending(tracked, now);
      return { incident: tracked.incident, opened: true, newGroup, merged: [] };
    }
    // Oldest first: the incident that saw the fault first keeps its id; the others fold into it.
    matches.sort(
      (a, b) => a.incident.openedMs - b.incident.openedMs || a.incident.id.localeCompare(b.incident.id),
    );
    const [target, ...others] = matches as [Tracked, ...Tracked[]];
    const merged = others.map((o) => this.#merge(target, o, now));
    const newGroup = this.#attach(target, signal, anchors, calls, now);
    return { incident: target.incident, opened: false, newGroup, merged };
  }

  /** Resolves incidents quiet for `quietMs`; returns them. */
  tick(now: number): Incident[] {
    const out: Incident[] = [];
    for (const t of [...this.#tracked.values()]) {
      if (now - t.lastIngestMs >= this.#options.quietMs) {
        this.#close(t, now, 'auto', `no new signal for ${Math.round(this.#options.quietMs / 1000)} s`);
        out.push(t.incident);
      }
    }
    this.#pending = this.#pending.filter((p) => now - p.atMs <= this.#options.pendingMs);
    return out;
  }

  get(id: string): Incident | undefined {
    return this.#tracked.get(id)?.incident ?? this.#resolved.get(id);
  }

  /** Open incidents first, newest first. */
  list(): Incident[] {
    const live = [...this.#tracked.values()].map((t) => t.incident);
    const done = [...this.#resolved.values()];
    const byOpened = (a: Incident, b: Incident) => b.openedMs - a.openedMs;
    return [...live.sort(byOpened), ...done.sort(byOpened)];
  }

  /** Marks an open incident acknowledged/mitigating (lifecycle only; no effect on grouping). */
  setStatus(id: string, status: 'acknowledged' | 'mitigating' | 'open', by: string): Incident | undefined {
    const t = this.#tracked.get(id);
    if (!t) return undefined;
    if (t.incident.status === status) return t.incident;
    const now = this.#clock();
    t.incident.status = status;
    if (status === 'acknowledged') t.incident.acknowledgedBy = by;
    this.#touch(t.incident, now);
    addTimeline(t.incident, { timeMs: now, type: 'status', text: `${status} by ${by}` });
    return t.incident;
  }

  resolve(id: string, by: string, reason = 'resolved by hand'): Incident | undefined {
    const t = this.#tracked.get(id);
    if (!t) return this.#resolved.get(id);
    this.#close(t, this.#clock(), by, reason);
    return t.incident;
  }

  /** Drops resolved incidents older than `keepMs` (bounded memory); returns their ids. */
  prune(now: number, keepMs: number): string[] {
    const gone: string[] = [];
    for (const [id, inc] of this.#resolved) {
      if (now - (inc.resolvedMs ?? now) > keepMs) {
        this.#resolved.delete(id);
        gone.push(id);
      }
    }
    return gone;
  }

  /** Whether an incident is known (live or resolved and still kept). */
  has(id: string): boolean {
    return this.#tracked.has(id) || this.#resolved.has(id);
  }

  /**
   * The correlator's state; with `ids`, only those incidents (unknown ones are left out). Incidents are deep
   * copies (structuredClone): later changes do not leak into a snapshot being written.
   */
  snapshot(ids?: Iterable<string>): CorrelatorSnapshot {
    const incidents: StoredIncident[] = [];
    const add = (id: string) => {
      const t = this.#tracked.get(id);
      if (t) {
        incidents.push({
          incident: structuredClone(t.incident),
          anchors: {
            identity: [...t.anchors.identity],
            calls: [...t.anchors.calls],
            hosts: [...t.anchors.hosts],
          },
          lastIngestMs: t.lastIngestMs,
        });
        return;
      }
      const inc = this.#resolved.get(id);
      if (inc)
        incidents.push({
          incident: structuredClone(inc),
          anchors: { identity: [], calls: [], hosts: [] },
          lastIngestMs: inc.resolvedMs ?? inc.updatedMs,
        });
    };
    for (const id of ids ?? [...this.#tracked.keys(), ...this.#resolved.keys()]) add(id);
    return { seq: this.#seq, incidents };
  }

  /**
   * Takes back incidents stored before a restart: live ones are indexed again by their anchors (a new signal
   * about the same subject joins them) and their groups; resolved ones are kept for the API. `pausedMs` (the
   * time the aggregator was down) is added to each live incident's quiet clock: it could not hear signals
   * then, so that time does not count as quiet.
   */
  restore(snapshot: CorrelatorSnapshot, pausedMs = 0): void {
    this.#seq = maxIdSequence(
      snapshot.incidents.map((s) => s.incident.id),
      Math.max(this.#seq, snapshot.seq),
    );
    for (const stored of snapshot.incidents) {
      const inc = stored.incident;
      if (this.has(inc.id)) continue;
      if (inc.status === 'resolved') {
        this.#resolved.set(inc.id, inc);
        continue;
      }
      const groupIndex = new Map<string, SignalGroup>();
      for (const g of inc.groups) groupIndex.set(g.key, g);
      const tracked: Tracked = {
        incident: inc,
        anchors: { identity: new Set(), calls: new Set(), hosts: new Set() },
        groupIndex,
        lastIngestMs: stored.lastIngestMs + Math.max(0, pausedMs),
      };
      this.#tracked.set(inc.id, tracked);
      const adopt = (anchors: Anchors) => {
        for (const which of ['identity', 'calls', 'hosts'] as const)
          for (const a of anchors[which])
            if (!tracked.anchors[which].has(a)) this.#addAnchor(tracked, which, a, inc.id);
      };
      adopt(stored.anchors);
      // Also the anchors of every group's exemplar, so a record without anchors still correlates.
      for (const g of inc.groups) adopt(anchorsFor(g.exemplar, this.#topology, g.calls));
    }
  }

  #matching(anchors: Anchors, timeMs: number): Tracked[] {
    const ids = new Set<string>();
    const look = (index: Index, keys: readonly string[]) => {
      for (const k of keys) for (const id of index.get(k) ?? []) ids.add(id);
    };
    look(this.#identity, anchors.identity);
    look(this.#calls, anchors.identity);
    look(this.#hosts, anchors.identity);
    look(this.#identity, anchors.calls);
    look(this.#calls, anchors.calls);
    look(this.#identity, anchors.hosts);
    const out: Tracked[] = [];
    for (const id of ids) {
      const t = this.#tracked.get(id);
      if (!t) continue;
      const inc = t.incident;
      if (timeMs - inc.lastSignalMs > this.#options.windowMs) continue;
      if (inc.firstSignalMs - timeMs > this.#options.windowMs) continue;
      out.push(t);
    }
    return out;
  }

  #open(signal: Signal, now: number): Tracked {
    this.#seq += 1;
    const id = `inc-${now.toString(36)}-${this.#seq.toString(36)}`;
    const incident: Incident = {
      id,
      status: 'open',
      title: signal.explanation,
      severity: signal.severity,
      openedMs: now,
      updatedMs: now,
      lastSignalMs: signal.timeMs,
      firstSignalMs: signal.timeMs,
      signalCount: 0,
      groups: [],
      nodes: [],
      namespaces: [],
      rootCauses: [],
      timeline: [{ timeMs: now, type: 'opened', text: `opened by ${signal.kind}: ${signal.explanation}` }],
      actions: [],
      version: 0,
    };
    const tracked: Tracked = {
      incident,
      anchors: { identity: new Set(), calls: new Set(), hosts: new Set() },
      groupIndex: new Map(),
      lastIngestMs: now,
    };
    this.#tracked.set(id, tracked);
    return tracked;
  }

  #attach(t: Tracked, signal: Signal, anchors: Anchors, calls: readonly string[], now: number): boolean {
    const inc = t.incident;
    const id = inc.id;
    for (const a of anchors.identity) if (!t.anchors.identity.has(a)) this.#addAnchor(t, 'identity', a, id);
    for (const a of anchors.calls) if (!t.anchors.calls.has(a)) this.#addAnchor(t, 'calls', a, id);
    for (const a of anchors.hosts) if (!t.anchors.hosts.has(a)) this.#addAnchor(t, 'hosts', a, id);
    inc.signalCount += 1;
    inc.lastSignalMs = Math.max(inc.lastSignalMs, signal.timeMs);
    inc.firstSignalMs = Math.min(inc.firstSignalMs, signal.timeMs);
    if (rank(signal.severity) > rank(inc.severity)) inc.severity = signal.severity;
    t.lastIngestMs = now;
    const s = signal.subject;
    if (s.node && !inc.nodes.includes(s.node)) inc.nodes.push(s.node);
    if (s.namespace && !inc.namespaces.includes(s.namespace)) inc.namespaces.push(s.namespace);
    let key = `${signal.kind}|${subjectKey(s)}`;
    let group = t.groupIndex.get(key);
    if (!group && t.groupIndex.size >= this.#options.maxGroups) {
      key = `${signal.kind}|*`;
      group = t.groupIndex.get(key);
    }
    this.#touch(inc, now);
    if (group) {
      group.count += 1;
      group.firstMs = Math.min(group.firstMs, signal.timeMs);
      group.lastMs = Math.max(group.lastMs, signal.timeMs);
      group.score = Math.max(group.score, signal.score);
      if (rank(signal.severity) > rank(group.severity)) group.severity = signal.severity;
      for (const c of calls) if (!group.calls.includes(c)) group.calls.push(c);
      return false;
    }
    group = {
      key,
      kind: signal.kind,
      subject: s,
      count: 1,
      firstMs: signal.timeMs,
      lastMs: signal.timeMs,
      severity: signal.severity,
      score: signal.score,
      explanation: signal.explanation,
      exemplar: signal,
      calls: [...calls],
    };
    t.groupIndex.set(key, group);
    inc.groups.push(group);
    addTimeline(inc, {
      timeMs: signal.timeMs,
      type: 'signal',
      text: `${signal.kind}: ${signal.explanation}`,
    });
    return true;
  }

  #addAnchor(t: Tracked, which: 'identity' | 'calls' | 'hosts', anchor: string, id: string): void {
    t.anchors[which].add(anchor);
    const index = which === 'identity' ? this.#identity : which === 'calls' ? this.#calls : this.#hosts;
    indexAdd(index, anchor, id);
  }

  #merge(target: Tracked, other: Tracked, now: number): Incident {
    const into = target.incident;
    const from = other.incident;
    for (const g of from.groups) {
      const mine = target.groupIndex.get(g.key);
      if (mine) {
        mine.count += g.count;
        mine.firstMs = Math.min(mine.firstMs, g.firstMs);
        mine.lastMs = Math.max(mine.lastMs, g.lastMs);
        mine.score = Math.max(mine.score, g.score);
        for (const c of g.calls) if (!mine.calls.includes(c)) mine.calls.push(c);
      } else {
        target.groupIndex.set(g.key, g);
        into.groups.push(g);
      }
    }
    for (const which of ['identity', 'calls', 'hosts'] as const) {
      for (const a of other.anchors[which])
        if (!target.anchors[which].has(a)) this.#addAnchor(target, which, a, into.id);
    }
    into.signalCount += from.signalCount;
    into.firstSignalMs = Math.min(into.firstSignalMs, from.firstSignalMs);
    into.lastSignalMs = Math.max(into.lastSignalMs, from.lastSignalMs);
    if (rank(from.severity) > rank(into.severity)) into.severity = from.severity;
    for (const n of from.nodes) if (!into.nodes.includes(n)) into.nodes.push(n);
    for (const n of from.namespaces) if (!into.namespaces.includes(n)) into.namespaces.push(n);
    for (const a of from.actions) if (!into.actions.includes(a)) into.actions.push(a);
    target.lastIngestMs = Math.max(target.lastIngestMs, other.lastIngestMs);
    addTimeline(into, {
      timeMs: now,
      type: 'merged',
      text: `merged ${from.id} (${from.signalCount} signals)`,
    });
    this.#close(other, now, `merged into ${into.id}`, `merged into ${into.id}`);
    this.#touch(into, now);
    return from;
  }

  #close(t: Tracked, now: number, by: string, reason: string): void {
    const inc = t.incident;
    for (const which of ['identity', 'calls', 'hosts'] as const) {
      const index = which === 'identity' ? this.#identity : which === 'calls' ? this.#calls : this.#hosts;
      for (const a of t.anchors[which]) indexRemove(index, a, inc.id);
    }
    this.#tracked.delete(inc.id);
    inc.status = 'resolved';
    inc.resolvedMs = now;
    inc.resolvedBy = by;
    this.#touch(inc, now);
    addTimeline(inc, { timeMs: now, type: 'status', text: `resolved: ${reason}` });
    this.#resolved.set(inc.id, inc);
  }

  #touch(inc: Incident, now: number): void {
    inc.updatedMs = now;
    inc.version += 1;
  }

  #remember(p: Pending): void {
    this.#pending.push(p);
    if (this.#pending.length > this.#options.maxPending)
      this.#pending.splice(0, this.#pending.length - this.#options.maxPending);
  }

  #adoptPending(t: Tracked, now: number): void {
    if (this.#pending.length === 0) return;
    const keep: Pending[] = [];
    const a = t.anchors;
    for (const p of this.#pending) {
      const meets =
        p.anchors.identity.some((x) => a.identity.has(x) || a.calls.has(x) || a.hosts.has(x)) ||
        p.anchors.calls.some((x) => a.identity.has(x) || a.calls.has(x)) ||
        p.anchors.hosts.some((x) => a.identity.has(x));
      const recent = Math.abs(p.signal.timeMs - t.incident.firstSignalMs) <= this.#options.windowMs;
      if (meets && recent && now - p.atMs <= this.#options.pendingMs)
        this.#attach(t, p.signal, p.anchors, p.calls, now);
      else keep.push(p);
    }
    this.#pending = keep;
  }
}
