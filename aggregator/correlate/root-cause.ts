// Root-cause ranking: every object an incident's signals are about (pods, their workloads, the services
// callers name, nodes, recent changes, attackers) becomes a candidate scored on general features, each
// with the reason it contributes:
//   prior       cause-like signal families (an OOM kill) over symptom-like ones (connection errors)
//   early       the first anomaly of the incident
//   dependency  the callee whose clients fail (callers name its Service in their errors)
//   change      a rollout / config change / deploy marker shortly before the onset
//   absorb      a node-level fault on the node most symptoms run on
//   deviation   the detectors' own robust deviation scores (max over the object's signals)
// A fault shared by several replicas of a workload is the workload's (its template or code); a fault on
// one replica is the pod's.
import { SEVERITIES, type Severity } from '../../common/signal.ts';
import type { ChangeEvent, Topology } from '../state/topology.ts';
import { podFromObjectName, workloadRef } from './anchors.ts';
import { calleeFault, type FaultHint, faultHint } from './fault-kinds.ts';
import type { Incident, RootCauseCandidate, SignalGroup } from './incident.ts';

export interface RankContext {
  topology: Topology;
  /** Changes from the topology and external events (deploy markers), any order. */
  changes: readonly ChangeEvent[];
  /** How long before the onset a change still counts (default 30 min). */
  changeLookbackMs?: number;
  maxCandidates?: number;
}

type Level = 'pod' | 'workload' | 'node' | 'service' | 'source' | 'user' | 'object' | 'container' | 'change';

interface Candidate {
  object: string;
  level: Level;
  groups: SignalGroup[];
  firstMs: number;
  hint: FaultHint;
  fault?: string;
  dependency: number;
  dependencyReason?: string;
  change?: { event: ChangeEvent; gapMs: number };
  absorb: number;
  absorbReason?: string;
  extraReasons: string[];
  pods: Set<string>;
}

const SEVERITY_WEIGHT: Record<Severity, number> = { info: 0.25, warning: 0.5, error: 0.75, critical: 1 };
const ROLLOUT_SYMPTOMS = new Set([
  'crash_loop',
  'restart',
  'error_logs',
  'readiness_failing',
  'image_pull_failed',
  'log_silence',
  'error_rate',
]);

/** Failures that say "this does not work" without pointing at a resource of the pod itself. */
const GENERIC_FAILURES = new Set([
  'crash_loop',
  'restart',
  'error_logs',
  'readiness_failing',
  'log_silence',
  'error_rate',
]);

function splitObject(object: string): { namespace: string; name: string } {
  const [, namespace = '', name = ''] = object.split('/');
  return { namespace, name };
}

function podObject(ns: string, name: string): string {
  return `Pod/${ns}/${name}`;
}

/** The object a group's subject names, in candidate form. */
export function objectOf(g: SignalGroup, topology: Topology): { object: string; level: Level } {
  const s = g.subject;
  if (s.namespace && s.pod) return { object: podObject(s.namespace, s.pod), level: 'pod' };
  if (s.kind === 'object' && s.name) {
    const pod = podFromObjectName(s.name);
    if (pod) return { object: podObject(pod.namespace, pod.name), level: 'pod' };
    return { object: `Object//${s.name}`, level: 'object' };
  }
  if (s.kind === 'source' && s.name) return { object: `Source//${s.name}`, level: 'source' };
  if (s.kind === 'user' && s.name) return { object: `User//${s.name}`, level: 'user' };
  if (s.service) return { object: `Service/${s.namespace ?? 'default'}/${s.service}`, level: 'service' };
  const workload = workloadRef(s, topology);
  if (workload) return { object: workload, level: 'workload' };
  if (s.container) return { object: `Container/${s.node ?? ''}/${s.container}`, level: 'container' };
  if (s.node) return { object: `Node//${s.node}`, level: 'node' };
  return { object: `Object//${s.name ?? 'unknown'}`, level: 'object' };
}

function better(a: FaultHint, b: FaultHint): FaultHint {
  return b.prior > a.prior ? b : a;
}

function fmtGap(ms: number): string {
  const s = Math.round(Math.abs(ms) / 1000);
  return s < 120 ? `${s} s` : `${Math.round(s / 60)} min`;
}

export function rankRootCauses(incident: Incident, ctx: RankContext): RootCauseCandidate[] {
  const { topology } = ctx;
  const lookback = ctx.changeLookbackMs ?? 30 * 60_000;
  const onset = incident.firstSignalMs;
  const cands = new Map<string, Candidate>();
  const ensure = (object: string, level: Level, hint: FaultHint, firstMs: number): Candidate => {
    let c = cands.get(object);
    if (!c) {
      c = {
        object,
        level,
        groups: [],
        firstMs,
        hint,
        dependency: 0,
        absorb: 0,
        extraReasons: [],
        pods: new Set(),
      };
      cands.set(object, c);
    }
    c.firstMs = Math.min(c.firstMs, firstMs);
    return c;
  };

  // 1. Every object the signals are about.
  const unitOf = new Map<SignalGroup, string>();
  for (const g of incident.groups) {
    const { object, level } = objectOf(g, topology);
    const hint = faultHint(g);
    const c = ensure(object, level, hint, g.firstMs);
    c.hint = better(c.hint, hint);
    c.groups.push(g);
    if (level === 'pod') c.pods.add(object);
    // The unit that fails as a client: its workload when known, else the object itself.
    unitOf.set(g, workloadRef(g.subject, topology) ?? object);
  }

  // 2. Dependency edges: services named in callers' errors.
  const callers = new Map<string, { units: Set<string>; lines: string[]; firstMs: number }>();
  const units = new Set<string>();
  for (const g of incident.groups) {
    if (g.kind.startsWith('security.')) continue;
    const unit = unitOf.get(g) ?? '';
    units.add(unit);
    for (const svc of g.calls) {
      const e = callers.get(svc) ?? { units: new Set<string>(), lines: [], firstMs: g.firstMs };
      callers.set(svc, e);
      e.units.add(unit);
      e.firstMs = Math.min(e.firstMs, g.firstMs);
      if (e.lines.length < 50) e.lines.push(...(g.exemplar.evidence?.lines ?? []), g.explanation);
    }
  }
  for (const [svc, e] of callers) {
    const [ns = 'default', name = ''] = svc.split('/');
    const members = topology.podsForService(ns, name);
    const memberUnits = new Set(members.map((p) => p.workload ?? podObject(p.namespace, p.name)));
    const others = [...units].filter((u) => !memberUnits.has(u)).length;
    const dependency = Math.min(1, e.units.size / Math.max(1, others));
    const example = e.lines.find((l) => l.includes(name)) ?? e.lines[0] ?? '';
    const reason = `${e.units.size} of ${others} affected client workloads name it in their errors${example ? ` (e.g. "${example.slice(0, 120)}")` : ''}`;
    const fault = calleeFault(e.lines);
    const prior = fault === 'latency_spike' ? 0.62 : 0.6;
    const c = ensure(
      `Service/${ns}/${name}`,
      'service',
      { fault, prior, symptom: false, security: false },
      e.firstMs,
    );
    c.fault = fault;
    if (dependency > c.dependency) {
      c.dependency = dependency;
      c.dependencyReason = reason;
    }
    for (const p of members) {
      const pc = cands.get(podObject(p.namespace, p.name));
      if (!pc) continue;
      // The callee's own signals count toward the service (its pods' errors are the service failing).
      c.firstMs = Math.min(c.firstMs, pc.firstMs);
      c.groups.push(...pc.groups);
      if (dependency > pc.dependency) {
        pc.dependency = dependency;
        pc.dependencyReason = `its Service ${ns}/${name}: ${reason}`;
      }
    }
  }

  // 2b. A Service whose every backing pod fails is down as a whole. Generic failures (crash loops, restarts,
  // errors) then describe the Service; resource faults (an OOM kill, a full disk) stay with the pod.
  const seenServices = new Set<string>();
  for (const pc of [...cands.values()]) {
    if (pc.level !== 'pod' || pc.hint.security) continue;
    const { namespace, name } = splitObject(pc.object);
    for (const svc of topology.servicesForPod(namespace, name)) {
      const key = `${svc.namespace}/${svc.name}`;
      if (seenServices.has(key)) continue;
      seenServices.add(key);
      const members = topology.podsForService(svc.namespace, svc.name);
      const memberCands = members.map((p) => cands.get(podObject(p.namespace, p.name)));
      const failing = members.filter((p, i) => !p.ready || (memberCands[i] && !memberCands[i].hint.symptom));
      if (members.length === 0 || failing.length < members.length) continue;
      const generic = memberCands.filter(
        (m): m is Candidate => m !== undefined && GENERIC_FAILURES.has(m.hint.fault),
      );
      if (generic.length === 0) continue;
      const prior = Math.max(...generic.map((m) => m.hint.prior));
      const c = ensure(
        `Service/${key}`,
        'service',
        { fault: 'dependency_down', prior, symptom: false, security: false },
        Math.min(...generic.map((m) => m.firstMs)),
      );
      c.hint = better(c.hint, { fault: 'dependency_down', prior, symptom: false, security: false });
      c.fault ??= 'dependency_down';
      c.absorb = Math.max(c.absorb, 1);
      for (const p of members) c.pods.add(podObject(p.namespace, p.name));
      for (const m of generic) if (!c.groups.includes(m.groups[0] as SignalGroup)) c.groups.push(...m.groups);
      c.extraReasons.push(
        `all ${members.length} pod(s) behind Service ${key} are failing: the service is down`,
      );
    }
  }

  // 3. Workloads: a fault shared by several replicas (or following the workload's own change) is the workload's.
  const relevantChanges = ctx.changes.filter(
    (ch) =>
      ch.timeMs >= onset - lookback &&
      ch.timeMs <= onset + 60_000 &&
      // A first revision is the workload's creation: nothing changed that a rollback could undo.
      !(ch.kind === 'rollout' && topology.revisions(ch.object).length === 1),
  );
  const changeFor = (object: string): { event: ChangeEvent; gapMs: number } | undefined => {
    let best: { event: ChangeEvent; gapMs: number } | undefined;
    for (const ch of relevantChanges) {
      if (ch.object !== object) continue;
      const gapMs = onset - ch.timeMs;
      if (!best || Math.abs(gapMs) < Math.abs(best.gapMs)) best = { event: ch, gapMs };
    }
    if (best || !object.includes('/')) return best;
    // The topology's revision history is a change record even when no change event was recorded.
    const revs = topology.revisions(object);
    const last = revs[revs.length - 1];
    if (last && revs.length > 1 && last.createdMs >= onset - lookback && last.createdMs <= onset + 60_000) {
      const prev = revs[revs.length - 2];
      return {
        event: {
          kind: 'rollout',
          object,
          timeMs: last.createdMs,
          description: `rollout to revision ${last.revision} (${last.images.join(', ')})${prev ? ` from ${prev.images.join(', ')}` : ''}`,
        },
        gapMs: onset - last.createdMs,
      };
    }
    return undefined;
  };
  const byWorkload = new Map<string, Candidate[]>();
  for (const c of cands.values()) {
    if (c.level !== 'pod') continue;
    const g = c.groups[0];
    if (!g || g.kind.startsWith('security.')) continue;
    const w = workloadRef(g.subject, topology);
    if (!w) continue;
    const list = byWorkload.get(w) ?? [];
    byWorkload.set(w, list);
    list.push(c);
  }
  for (const [w, pods] of byWorkload) {
    const causeLike = pods.filter((p) => !p.hint.symptom);
    const change = changeFor(w);
    const faults = new Map<string, number>();
    for (const p of causeLike) faults.set(p.hint.fault, (faults.get(p.hint.fault) ?? 0) + 1);
    const shared = [...faults.values()].some((n) => n >= 2);
    if (!shared && !change) continue;
    let hint = pods.map((p) => p.hint).reduce(better);
    const c = ensure(w, 'workload', hint, Math.min(...pods.map((p) => p.firstMs)));
    for (const p of pods) {
      c.groups.push(...p.groups);
      c.pods.add(p.object);
      c.dependency = Math.max(c.dependency, p.dependency);
      if (!c.dependencyReason && p.dependencyReason) c.dependencyReason = p.dependencyReason;
    }
    const memory = pods.some((p) => p.hint.fault === 'oom_kill' || p.hint.fault.startsWith('memory'));
    if (
      memory &&
      (shared || pods.some((p) => p.groups.some((g) => g.kind === 'pod.oom_killed' && g.count > 1)))
    ) {
      hint = { ...hint, fault: 'memory_leak', prior: Math.max(hint.prior, 0.85) };
      c.extraReasons.push(
        `memory grows until OOM on ${c.pods.size} replica(s): a leak in the workload, not one pod`,
      );
    }
    c.hint = hint;
    if (change) {
      c.change = change;
      if (ROLLOUT_SYMPTOMS.has(hint.fault) || change.event.kind === 'rollout') {
        if (!hint.fault.startsWith('memory')) c.fault = 'bad_rollout';
      }
    } else {
      c.extraReasons.push(`${c.pods.size} replicas show ${hint.fault}`);
    }
    if (shared) {
      // Like a node for its pods, a workload explains the symptoms its replicas share.
      const all = topology.podsOfWorkload(w).length;
      c.absorb = Math.max(c.absorb, Math.min(1, c.pods.size / Math.max(all, c.pods.size)));
    }
  }
  // Replicas of one workload that fail only on one node while the same workload runs fine elsewhere: what
  // differs is the node (a node-wide leak, a bad disk), not the code every replica shares. The nodes come
  // from the signals (a failed pod may be gone, replaced by a remedy); a replica counts as fine elsewhere
  // when it is ready and was running before the onset (a fresh replacement has not had the time to fail).
  for (const w of [...cands.values()]) {
    if (w.level !== 'workload' || w.change || w.pods.size < 2) continue;
    const nodes = new Set(w.groups.map((g) => g.subject.node ?? ''));
    const [node] = nodes;
    if (nodes.size !== 1 || !node) continue;
    const elsewhere = topology
      .podsOfWorkload(w.object)
      .filter(
        (p) =>
          p.node !== node &&
          p.ready &&
          !w.pods.has(`Pod/${p.namespace}/${p.name}`) &&
          (p.createdMs === undefined || p.createdMs < onset),
      );
    if (elsewhere.length === 0) continue;
    const object = `Node//${node}`;
    const existing = cands.get(object);
    const n = existing ?? ensure(object, 'node', { ...w.hint, symptom: false }, w.firstMs);
    if (!existing) n.groups.push(...w.groups);
    n.dependency = Math.max(n.dependency, w.dependency);
    n.extraReasons.push(
      `${w.pods.size} replicas of ${w.object} fail on this node only; ${elsewhere.length} on other nodes run fine`,
    );
    w.extraReasons.push(`its replicas fail on ${node} only`);
    w.absorb = 0;
  }
  // A Service is down because its workload fails: when one workload's replicas are all the Service's pods,
  // the workload is the cause and the Service's outage its consequence.
  for (const w of cands.values()) {
    if (w.level !== 'workload' || w.pods.size < 2) continue;
    for (const svc of cands.values()) {
      if (svc.level !== 'service' || svc.absorb < 1 || svc.pods.size === 0) continue;
      if (![...svc.pods].every((p) => w.pods.has(p))) continue;
      svc.absorb = 0;
      w.absorb = Math.max(w.absorb, 1);
      w.extraReasons.push(`every pod behind ${svc.object} belongs to it and fails`);
      // Its pods crash, nothing serves the Service and its callers fail naming it: the workload is a
      // dependency that is down (the name the Service's own candidate carries), not one more crash loop.
      if (w.fault === undefined && w.hint.fault === 'crash_loop' && w.dependency > 0)
        w.fault = 'dependency_down';
    }
  }
  // A single pod that is OOM-killed again and again, or after a memory trend, leaks.
  for (const c of cands.values()) {
    if (c.level !== 'pod' || c.hint.fault !== 'oom_kill') continue;
    const oomGroups = c.groups.filter((g) => g.kind === 'pod.oom_killed');
    const ooms = oomGroups.reduce((n, g) => n + g.count, 0);
    // Two reports of one kill arrive seconds apart; kills after a restart and regrowth are spread out.
    const spread = Math.max(...oomGroups.map((g) => g.lastMs)) - Math.min(...oomGroups.map((g) => g.firstMs));
    const trendFirst = Math.min(
      ...c.groups.filter((g) => faultHint(g).fault === 'memory_leak').map((g) => g.firstMs),
      Number.POSITIVE_INFINITY,
    );
    const oomFirst = Math.min(...c.groups.filter((g) => g.kind === 'pod.oom_killed').map((g) => g.firstMs));
    // OOM-killed, then in CrashLoopBackOff: the kubelet backs off because the container keeps dying, whatever
    // the time its memory takes to grow back (a spread in seconds depends on the leak's rate).
    const backOff = c.groups.some((g) => g.kind === 'pod.crash_loop' && g.lastMs >= oomFirst);
    if ((ooms > 1 && spread >= 20_000) || oomFirst - trendFirst >= 5 * 60_000 || backOff) {
      c.fault = 'memory_leak';
      if (backOff)
        c.extraReasons.push('OOM-killed, then in CrashLoopBackOff: it runs out of memory again and again');
    }
  }

  // 4. Changes not tied to a candidate yet but touching the incident's workloads or nodes.
  const touched = new Set<string>([...byWorkload.keys(), ...[...cands.values()].map((c) => c.object)]);
  for (const node of incident.nodes) touched.add(`Node//${node}`);
  for (const ch of relevantChanges) {
    if (cands.has(ch.object) || !touched.has(ch.object)) continue;
    const fault = ch.kind === 'rollout' || ch.kind === 'deploy-marker' ? 'bad_rollout' : `${ch.kind}_change`;
    const c = ensure(ch.object, 'change', { fault, prior: 0.5, symptom: false, security: false }, ch.timeMs);
    c.change = { event: ch, gapMs: onset - ch.timeMs };
  }
  for (const c of cands.values()) {
    if (c.change || c.level === 'change') continue;
    const change = changeFor(c.object);
    if (change) c.change = change;
  }

  // 5. Nodes: a node-level fault absorbs the pod symptoms on it; the topology's node state counts too.
  const podGroups = incident.groups.filter((g) => g.subject.pod && !g.kind.startsWith('security.'));
  for (const node of incident.nodes) {
    const info = topology.node(node);
    const object = `Node//${node}`;
    const existing = cands.get(object);
    const onNodeGroups = podGroups.filter((g) => g.subject.node === node);
    // One pod whose trouble began before the node's own anomaly: the node's memory grew because that pod's
    // did (db-0 spiked, then its node's memory trended, then db-0 was OOM-killed). That pod is the cause, not
    // the node's victim. Several pods, or a pod hit after the node's anomaly began, the node explains.
    const podsOnNode = new Set(onNodeGroups.map((g) => `${g.subject.namespace}/${g.subject.pod}`));
    const ledByOnePod =
      existing !== undefined &&
      podsOnNode.size === 1 &&
      Math.min(...onNodeGroups.map((g) => g.firstMs)) < existing.firstMs;
    const onNode = ledByOnePod ? 0 : onNodeGroups.length;
    const conditions = Object.entries(info?.conditions ?? {});
    const pressure = conditions.find(([type, status]) => type !== 'Ready' && status === 'True');
    const notReady = info && !info.ready;
    if (!existing && !notReady && !pressure) continue;
    const c =
      existing ??
      ensure(object, 'node', { fault: 'node_condition', prior: 0.5, symptom: false, security: false }, onset);
    if (notReady) {
      c.hint = better(c.hint, { fault: 'node_not_ready', prior: 0.9, symptom: false, security: false });
      c.extraReasons.push('the node is NotReady in the cluster');
    } else if (pressure) {
      const fault = /disk/i.test(pressure[0])
        ? 'disk_fill'
        : /memory/i.test(pressure[0])
          ? 'memory_pressure'
          : 'node_condition';
      c.hint = better(c.hint, { fault, prior: 0.85, symptom: false, security: false });
      c.extraReasons.push(`the node reports ${pressure[0]}`);
    }
    if (podGroups.length > 0 && onNode > 0) {
      c.absorb = onNode / podGroups.length;
      c.absorbReason = `${onNode} of ${podGroups.length} pod symptoms run on this node`;
    }
  }

  // 6. Score.
  const span = Math.max(30_000, incident.lastSignalMs - onset);
  const ranked = [...cands.values()].map((c) => score(c, onset, span));
  ranked.sort((a, b) => b.score - a.score || a.firstMs - b.firstMs || a.object.localeCompare(b.object));
  return ranked.slice(0, ctx.maxCandidates ?? 5);
}

function score(c: Candidate, onset: number, span: number): RootCauseCandidate {
  const reasons: string[] = [];
  const lead = [...c.groups].sort(
    (a, b) => faultHint(b).prior - faultHint(a).prior || a.firstMs - b.firstMs,
  )[0];
  if (lead) {
    const count = c.groups.filter((g) => g.kind === lead.kind).reduce((n, g) => n + g.count, 0);
    reasons.push(`${lead.kind}${count > 1 ? ` ×${count}` : ''}: ${lead.explanation}`);
  }
  const delay = Math.max(0, c.firstMs - onset);
  const early = Math.exp(-delay / Math.max(30_000, span / 4));
  reasons.push(
    delay === 0 ? 'first anomaly of the incident' : `first anomaly ${fmtGap(delay)} after the onset`,
  );
  if (c.dependencyReason) reasons.push(c.dependencyReason);
  let change = 0;
  if (c.change) {
    const gap = c.change.gapMs;
    change = gap >= -60_000 ? Math.exp(-Math.max(0, gap) / (15 * 60_000)) : 0;
    reasons.push(
      `${c.change.event.kind} ${c.change.event.description || c.change.event.object} ${fmtGap(gap)} ${gap >= 0 ? 'before' : 'after'} the onset`,
    );
  }
  if (c.absorbReason) reasons.push(c.absorbReason);
  reasons.push(...c.extraReasons);
  let deviation = 0;
  let severity = 0;
  for (const g of c.groups) {
    deviation = Math.max(deviation, g.score);
    const v = g.exemplar.evidence?.values ?? {};
    const z = v['sigma'] ?? v['z'] ?? v['zscore'];
    if (typeof z === 'number' && Number.isFinite(z))
      deviation = Math.max(deviation, Math.min(1, Math.abs(z) / 10));
    severity = Math.max(severity, SEVERITY_WEIGHT[g.severity] ?? 0);
  }
  if (c.groups.length === 0) severity = SEVERITY_WEIGHT.warning;
  const breadth = Math.min(1, Math.log10(1 + c.groups.reduce((n, g) => n + g.count, 0)) / 2);
  const sec = c.hint.security;
  const raw =
    (sec ? 0.5 : 0.35) * c.hint.prior +
    (sec ? 0.02 : 0.15) * early +
    0.2 * c.dependency +
    0.15 * change +
    0.1 * deviation +
    0.05 * severity +
    0.1 * c.absorb +
    0.05 * breadth;
  return {
    kind: c.fault ?? c.hint.fault,
    object: c.object,
    score: Math.round(Math.min(1, raw) * 1000) / 1000,
    reasons,
    firstMs: c.firstMs,
  };
}

export function severityRank(s: Severity): number {
  return SEVERITIES.indexOf(s);
}
