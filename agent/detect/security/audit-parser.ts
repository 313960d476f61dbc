// Parses Kubernetes audit log lines (JSON lines of `audit.k8s.io/v1` Event) for the `k8s_audit` rules.
// Bad input never stops the stream: malformed and truncated lines are counted and skipped. Each event gets
// a `derived` block with the values rules keep needing (Falco's ka.* fields), computed once.

export interface AuditEvent {
  kind: 'Event';
  apiVersion: string;
  level?: string;
  auditID?: string;
  stage?: string;
  requestURI?: string;
  verb?: string;
  user?: { username?: string; uid?: string; groups?: string[] };
  impersonatedUser?: { username?: string; groups?: string[] };
  sourceIPs?: string[];
  userAgent?: string;
  objectRef?: {
    resource?: string;
    namespace?: string;
    name?: string;
    subresource?: string;
    apiGroup?: string;
    apiVersion?: string;
  };
  responseStatus?: { code?: number; status?: string; reason?: string; message?: string };
  requestObject?: unknown;
  responseObject?: unknown;
  requestReceivedTimestamp?: string;
  stageTimestamp?: string;
  annotations?: Record<string, string>;
  derived: AuditDerived;
  /** Namespace and pod of the object, merged into signal subjects so the aggregator can join topology. */
  subjectHint?: { namespace?: string; pod?: string };
}

export interface AuditDerived {
  /** Effective user: the impersonated user when there is one. */
  user: string;
  /** `resource/namespace/name[/subresource]`, e.g. `pods/default/web-1/exec`, `clusterroles/admin`. */
  object: string;
  /** `resource` or `resource/subresource`. */
  resource: string;
  responseOk: boolean;
  /** `authorization.k8s.io/decision` annotation: allow | forbid. */
  decision?: string;
  sourceIP?: string;
  /** For pod creation: image repositories (no tag/digest) of every container, init and ephemeral. */
  images: string[];
  hostPaths: string[];
  privileged: boolean;
  timeMs: number;
}

export interface AuditParseStats {
  lines: number;
  events: number;
  malformed: number;
  truncated: number;
  notAudit: number;
  oversized: number;
}

export const MAX_AUDIT_LINE_BYTES = 1 << 20;

export function newAuditParseStats(): AuditParseStats {
  return { lines: 0, events: 0, malformed: 0, truncated: 0, notAudit: 0, oversized: 0 };
}

/** Parses one line to zero or more events (an `EventList` line yields its items); updates stats. */
export function parseAuditLine(line: string, stats: AuditParseStats): AuditEvent[] {
  stats.lines++;
  const text = line.trim();
  if (text.length === 0) return [];
  if (text.length > MAX_AUDIT_LINE_BYTES) {
    stats.oversized++;
    return [];
  }
  let raw: unknown;
  try {
    raw = JSON.parse(text);
  } catch {
    // A line cut short (crash, rotation mid-write) does not end its top-level object.
    if (text.startsWith('{') && !text.endsWith('}')) stats.truncated++;
    else stats.malformed++;
    return [];
  }
  if (!raw || typeof raw !== 'object') {
    stats.notAudit++;
    return [];
  }
  const obj = raw as Record<string, unknown>;
  const items = obj['kind'] === 'EventList' && Array.isArray(obj['items']) ? obj['items'] : [obj];
  const out: AuditEvent[] = [];
  for (const item of items) {
    const event = toAuditEvent(item);
    if (event) {
      out.push(event);
      stats.events++;
    } else {
      stats.notAudit++;
    }
  }
  return out;
}

function toAuditEvent(item: unknown): AuditEvent | undefined {
  if (!item || typeof item !== 'object') return undefined;
  const e = item as Partial<AuditEvent> & Record<string, unknown>;
  if (e.kind !== 'Event' || typeof e.apiVersion !== 'string' || !e.apiVersion.startsWith('audit.k8s.io/')) {
    return undefined;
  }
  const ref = e.objectRef ?? {};
  const resource = ref.subresource ? `${ref.resource ?? ''}/${ref.subresource}` : (ref.resource ?? '');
  // A create's URL has no name, so the API server may leave objectRef.name empty: take it from the object
  // (Falco uses ka.resp.name for the same reason).
  const name = ref.name ?? metadataName(e.responseObject) ?? metadataName(e.requestObject);
  const objectParts = [ref.resource ?? e.requestURI ?? '?', ref.namespace, name, ref.subresource].filter(
    (p): p is string => typeof p === 'string' && p.length > 0,
  );
  const code = e.responseStatus?.code;
  const timeMs = Date.parse(e.stageTimestamp ?? e.requestReceivedTimestamp ?? '');
  const derived: AuditDerived = {
    user: e.impersonatedUser?.username ?? e.user?.username ?? '',
    object: objectParts.join('/'),
    resource,
    responseOk: typeof code === 'number' ? code >= 200 && code < 300 : false,
    images: [],
    hostPaths: [],
    privileged: false,
    timeMs: Number.isNaN(timeMs) ? 0 : timeMs,
  };
  const decision = e.annotations?.['authorization.k8s.io/decision'];
  if (decision !== undefined) derived.decision = decision;
  const sourceIP = e.sourceIPs?.[e.sourceIPs.length - 1];
  if (sourceIP !== undefined) derived.sourceIP = sourceIP;
  if (ref.resource === 'pods' && !ref.subresource) fillPodFacts(e.requestObject, derived);
  const event: AuditEvent = { ...(e as AuditEvent), derived };
  if (ref.namespace) {
    event.subjectHint = { namespace: ref.namespace };
    if (ref.resource === 'pods' && name) event.subjectHint.pod = name;
  }
  return event;
}

function metadataName(obj: unknown): string | undefined {
  const name = (obj as { metadata?: { name?: unknown } } | undefined)?.metadata?.name;
  return typeof name === 'string' && name.length > 0 ? name : undefined;
}

interface ContainerLike {
  image?: unknown;
  securityContext?: { privileged?: unknown };
}

function fillPodFacts(requestObject: unknown, derived: AuditDerived): void {
  const spec = (requestObject as { spec?: Record<string, unknown> } | undefined)?.spec;
  if (!spec || typeof spec !== 'object') return;
  const containers = ['containers', 'initContainers', 'ephemeralContainers'].flatMap((key) => {
    const list = spec[key];
    return Array.isArray(list) ? (list as ContainerLike[]) : [];
  });
  for (const c of containers) {
    if (typeof c.image === 'string') derived.images.push(imageRepository(c.image));
    if (c.securityContext?.privileged === true) derived.privileged = true;
  }
  const volumes = Array.isArray(spec['volumes'])
    ? (spec['volumes'] as Array<{ hostPath?: { path?: unknown } }>)
    : [];
  for (const v of volumes) {
    const p = v.hostPath?.path;
    if (typeof p === 'string') derived.hostPaths.push(p.length > 1 ? p.replace(/\/+$/, '') : p);
  }
}

/** `docker.io/library/nginx:1.27@sha256:…` → `docker.io/library/nginx` (Falco's image.repository). */
export function imageRepository(image: string): string {
  const noDigest = image.split('@')[0] ?? image;
  const slash = noDigest.lastIndexOf('/');
  const colon = noDigest.lastIndexOf(':');
  return colon > slash ? noDigest.slice(0, colon) : noDigest;
}
