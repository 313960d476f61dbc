// Names for the pod uids and container ids found in cgroups, from the kubelet's log directories, which
// every node has and which need no Kubernetes API:
//   var/log/pods/<namespace>_<pod>_<uid>/                     → uid → (namespace, pod)
//   var/log/containers/<pod>_<namespace>_<container>-<id>.log → id  → container name
// Pod and namespace names cannot contain '_', container ids are 64 hex digits, so both parse exactly.
import { readdirSync } from 'node:fs';
import { join } from 'node:path';

export interface PodName {
  namespace: string;
  pod: string;
}

const POD_DIR = /^([^_]+)_([^_]+)_([0-9a-f-]{36})$/;
const CONTAINER_LINK = /^([^_]+)_([^_]+)_(.+)-([0-9a-f]{64})\.log$/;

export function parsePodLogDir(name: string): (PodName & { uid: string }) | undefined {
  const m = POD_DIR.exec(name);
  return m ? { namespace: m[1]!, pod: m[2]!, uid: m[3]! } : undefined;
}

export function parseContainerLogLink(name: string): { container: string; id: string } | undefined {
  const m = CONTAINER_LINK.exec(name);
  return m ? { container: m[3]!, id: m[4]! } : undefined;
}

/** Refreshes at most once per `minRefreshMs` when asked about something it does not know. */
export class PodDirectory {
  private readonly logRoot: string;
  private readonly minRefreshMs: number;
  private pods = new Map<string, PodName>();
  private containers = new Map<string, string>();
  private refreshedAtMs = Number.NEGATIVE_INFINITY;

  constructor(hostRoot: string, minRefreshMs = 5_000) {
    this.logRoot = join(hostRoot, 'var', 'log');
    this.minRefreshMs = minRefreshMs;
  }

  pod(uid: string, nowMs: number): PodName | undefined {
    if (!this.pods.has(uid)) this.maybeRefresh(nowMs);
    return this.pods.get(uid);
  }

  container(id: string, nowMs: number): string | undefined {
    if (!this.containers.has(id)) this.maybeRefresh(nowMs);
    return this.containers.get(id);
  }

  private maybeRefresh(nowMs: number): void {
    if (nowMs - this.refreshedAtMs < this.minRefreshMs) return;
    this.refreshedAtMs = nowMs;
    const pods = new Map<string, PodName>();
    for (const name of list(join(this.logRoot, 'pods'))) {
      const p = parsePodLogDir(name);
      if (p) pods.set(p.uid, { namespace: p.namespace, pod: p.pod });
    }
    const containers = new Map<string, string>();
    for (const name of list(join(this.logRoot, 'containers'))) {
      const c = parseContainerLogLink(name);
      if (c) containers.set(c.id, c.container);
    }
    this.pods = pods;
    this.containers = containers;
  }
}

function list(dir: string): string[] {
  try {
    return readdirSync(dir);
  } catch {
    return [];
  }
}
