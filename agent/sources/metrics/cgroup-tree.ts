// Finds the container cgroups of the kubepods tree: kubepods → [qos] → pod → container, reading only
// directory names. The pod level is listed every sample, so a new pod is seen at once; the containers of a
// known pod are listed again every 10 s, every sample while it has none yet (a pod slice is made before
// its containers), or at once when one of them was found gone (a restart makes a new container cgroup).
import { type Dirent, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { classifyCgroupDir } from './cgroup-names.ts';

export interface PodCgroup {
  uid: string;
  path: string;
  containers: ContainerCgroup[];
}

export interface ContainerCgroup {
  id: string;
  path: string;
}

const CONTAINERS_REFRESH_MS = 10_000;

interface CachedPod {
  pod: PodCgroup;
  listedAtMs: number;
}

export class KubepodsTree {
  private readonly root: string;
  private cache = new Map<string, CachedPod>();

  constructor(kubepodsPath: string) {
    this.root = kubepodsPath;
  }

  list(nowMs: number): PodCgroup[] {
    const next = new Map<string, CachedPod>();
    const visit = (uid: string, path: string) => {
      const cached = this.cache.get(path);
      if (cached && cached.pod.containers.length > 0 && nowMs - cached.listedAtMs < CONTAINERS_REFRESH_MS)
        next.set(path, cached);
      else next.set(path, { pod: { uid, path, containers: listContainers(path) }, listedAtMs: nowMs });
    };
    for (const entry of subdirs(this.root)) {
      const c = classifyCgroupDir(entry);
      const path = join(this.root, entry);
      if (c.kind === 'pod') visit(c.uid, path);
      else if (c.kind === 'qos') {
        for (const inner of subdirs(path)) {
          const p = classifyCgroupDir(inner);
          if (p.kind === 'pod') visit(p.uid, join(path, inner));
        }
      }
    }
    this.cache = next;
    return [...next.values()].map((c) => c.pod);
  }

  /** A container of this pod was found gone: list the pod's containers again on the next sample. */
  invalidate(podPath: string): void {
    this.cache.delete(podPath);
  }
}

function listContainers(podPath: string): ContainerCgroup[] {
  const containers: ContainerCgroup[] = [];
  for (const entry of subdirs(podPath)) {
    const c = classifyCgroupDir(entry);
    if (c.kind === 'container') containers.push({ id: c.id, path: join(podPath, entry) });
  }
  return containers;
}

/** Directory names; a directory removed while walking is simply empty. */
function subdirs(path: string): string[] {
  let entries: Dirent[];
  try {
    entries = readdirSync(path, { withFileTypes: true });
  } catch {
    return [];
  }
  const out: string[] = [];
  for (const e of entries) if (e.isDirectory()) out.push(e.name);
  return out;
}
