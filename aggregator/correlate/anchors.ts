// Topology anchors: the keys by which a signal can meet an incident. `identity` says what the signal is
// about (its pod, workload, services, node when node-level, source IP, user), `calls` the services its
// evidence names (a client's `connection refused to db:5432` points at `service:shop/db`), `hosts` the node
// a pod-level signal runs on (it only meets a node-level cause on that node: "a node absorbs its pods").
import type { Signal, Subject } from '../../common/signal.ts';
import type { Topology } from '../state/topology.ts';

export interface Anchors {
  identity: string[];
  calls: string[];
  hosts: string[];
}

const HOST_PORT = /\b([a-z0-9](?:[-a-z0-9]*[a-z0-9])?(?:\.[a-z0-9](?:[-a-z0-9]*[a-z0-9])?)*):(\d{2,5})\b/gi;
const URL_HOST = /\b[a-z][a-z0-9+.-]*:\/\/(?:[^@/\s]+@)?([a-z0-9](?:[-a-z0-9.]*[a-z0-9])?)/gi;
const IPV4 = /^\d{1,3}(?:\.\d{1,3}){3}$/;

/** Hosts named in log lines: `db:5432`, `http://search.shop:8080/q`, `postgres://u@db/app`. */
export function hostsInLines(lines: readonly string[]): string[] {
  const hosts = new Set<string>();
  for (const line of lines) {
    for (const m of line.matchAll(HOST_PORT)) {
      const host = (m[1] ?? '').toLowerCase();
      // `12:30:01` timestamps and bare numbers look like host:port; a host has a letter.
      if (/[a-z]/.test(host) && !IPV4.test(host)) hosts.add(host);
    }
    for (const m of line.matchAll(URL_HOST)) {
      const host = (m[1] ?? '').toLowerCase();
      if (/[a-z]/.test(host) && !IPV4.test(host)) hosts.add(host);
    }
  }
  return [...hosts];
}

/** A stable key for a subject, used for dedupe (`kind|key`). */
export function subjectKey(s: Subject): string {
  return [s.kind, s.node, s.namespace, s.pod, s.container, s.workload, s.service, s.name]
    .map((v) => v ?? '')
    .join('/');
}

/** `Kind/ns/name` for a subject's workload; subjects carry `Kind/name`, topology `Kind/ns/name`. */
export function workloadRef(s: Subject, topology: Topology): string | undefined {
  if (s.namespace && s.pod) {
    const pod = topology.pod(s.namespace, s.pod);
    if (pod?.workload) return pod.workload;
  }
  if (!s.workload) return undefined;
  const parts = s.workload.split('/');
  if (parts.length === 3) return s.workload;
  if (parts.length === 2 && s.namespace) return `${parts[0]}/${s.namespace}/${parts[1]}`;
  return undefined;
}

/** A Kubernetes object name as the audit rules write it (`pods/ns/name[/exec]`) parsed to namespace/name. */
export function podFromObjectName(name: string): { namespace: string; name: string } | undefined {
  const parts = name.split('/');
  if (parts[0] === 'pods' && parts.length >= 3 && parts[1] && parts[2]) {
    return { namespace: parts[1], name: parts[2] };
  }
  return undefined;
}

/** A pod created this long before a node-level anomaly on its node counts as having just arrived there. */
const ARRIVAL_MS = 5 * 60_000;

const WORKLOAD_KINDS: Record<string, string> = {
  deployments: 'Deployment',
  statefulsets: 'StatefulSet',
  daemonsets: 'DaemonSet',
  replicasets: 'ReplicaSet',
};
const WRITE_VERBS = new Set(['create', 'update', 'patch', 'delete']);

/**
 * The workload an audit event wrote to (`deployments/ns/name[/scale]` as the audit rules name objects), as
 * `Kind/ns/name`; undefined for reads and for objects that are not workloads.
 */
export function changedWorkload(object: string | undefined, verb: string | undefined): string | undefined {
  if (!object || (verb !== undefined && !WRITE_VERBS.has(verb))) return undefined;
  const [resource, namespace, name] = object.split('/');
  const kind = resource ? WORKLOAD_KINDS[resource] : undefined;
  return kind && namespace && name ? `${kind}/${namespace}/${name}` : undefined;
}

export function isSecurity(signal: Signal): boolean {
  return signal.kind.startsWith('security.');
}

/** Node-level: about the node itself (conditions, node metrics), not about something running on it. */
export function isNodeLevel(signal: Signal): boolean {
  const s = signal.subject;
  if (isSecurity(signal)) return false;
  if (s.kind === 'node') return true;
  return Boolean(s.node) && !s.pod && !s.container && !s.workload && !s.service && !s.name;
}

/** Services a signal's evidence names, resolved through the topology to `ns/name`. */
export function calledServices(signal: Signal, topology: Topology): string[] {
  const lines = [...(signal.evidence?.lines ?? []), signal.explanation];
  const from = signal.subject.namespace ?? 'default';
  const own = new Set(
    signal.subject.namespace && signal.subject.pod
      ? topology.servicesForPod(signal.subject.namespace, signal.subject.pod).map((s) => s.name)
      : [],
  );
  const out = new Set<string>();
  for (const host of hostsInLines(lines)) {
    const svc = topology.serviceByHost(host, from);
    // A pod naming its own service (its listen address) is not a call.
    if (svc && !(svc.namespace === from && own.has(svc.name))) out.add(`${svc.namespace}/${svc.name}`);
  }
  return [...out];
}

export function anchorsFor(signal: Signal, topology: Topology, calls: readonly string[]): Anchors {
  const s = signal.subject;
  const identity = new Set<string>();
  const hosts = new Set<string>();
  let pod = s.namespace && s.pod ? { namespace: s.namespace, name: s.pod } : undefined;
  if (!pod && s.kind === 'object' && s.name) pod = podFromObjectName(s.name);
  if (pod) {
    identity.add(`pod:${pod.namespace}/${pod.name}`);
    for (const svc of topology.servicesForPod(pod.namespace, pod.name)) {
      identity.add(`service:${svc.namespace}/${svc.name}`);
    }
  }
  const workload = workloadRef(pod ? { ...s, namespace: pod.namespace, pod: pod.name } : s, topology);
  // Security signals about a pod are about that pod, not about all its replicas; one about the workload
  // itself (a vulnerable image it runs) is about every replica.
  if (workload && (!isSecurity(signal) || s.kind === 'workload')) identity.add(`workload:${workload}`);
  if (s.service) identity.add(`service:${s.namespace ?? 'default'}/${s.service}`);
  if (s.kind === 'source' && s.name) identity.add(`source:${s.name}`);
  if (s.kind === 'user' && s.name) identity.add(`user:${s.name}`);
  if (s.kind === 'object' && s.name && !pod) identity.add(`object:${s.name}`);
  if (s.container && !pod) identity.add(`container:${s.node ?? ''}/${s.container}`);
  if (isSecurity(signal)) {
    // The actor ties an attack's steps together: the same user or source IP across rules and nodes.
    const attrs = signal.evidence?.attributes ?? {};
    const user = attrs['user'];
    const source = attrs['source'] ?? attrs['sourceIp'] ?? attrs['source_ip'];
    if (user && !user.startsWith('system:')) identity.add(`user:${user}`);
    if (source) for (const ip of source.split(',')) identity.add(`source:${ip.trim()}`);
    // A change to a workload (a disallowed user's rollout, say) meets what that workload does next: the crash
    // loop of the revision it rolled out is the same story, not a second incident.
    const changed = changedWorkload(attrs['object'], attrs['verb']);
    if (changed) identity.add(`workload:${changed}`);
  }
  // An eviction cascade: the pods a node evicts are replaced on other nodes, which then come under pressure in
  // turn. An eviction is anchored on its workload as displaced, and a node-level anomaly on every workload
  // whose pods just arrived on that node, so the two meet.
  if (signal.kind === 'pod.evicted' && workload) identity.add(`displaced:${workload}`);
  if (s.node && isNodeLevel(signal)) {
    for (const p of topology.podsOnNode(s.node)) {
      if (!p.workload || p.createdMs === undefined) continue;
      const age = signal.timeMs - p.createdMs;
      if (age >= 0 && age <= ARRIVAL_MS) identity.add(`displaced:${p.workload}`);
    }
  }
  if (s.node) {
    if (isNodeLevel(signal)) identity.add(`node:${s.node}`);
    else if (!isSecurity(signal)) hosts.add(`node:${s.node}`);
  }
  if (identity.size === 0 && s.node) identity.add(`node:${s.node}`);
  return {
    identity: [...identity],
    calls: calls.map((c) => `service:${c}`),
    hosts: [...hosts],
  };
}
