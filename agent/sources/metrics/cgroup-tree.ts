// Finds the container cgroups of the kubepods tree: kubepods → [qos] → pod → container, at most three
// levels, reading only directory names.
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

export function listPodCgroups(kubepodsPath: string): PodCgroup[] {
  const pods: PodCgroup[] = [];
  for (const entry of subdirs(kubepodsPath)) {
    const c = classifyCgroupDir(entry);
    const path = join(kubepodsPath, entry);
    if (c.kind === 'pod') pods.push(podAt(c.uid, path));
    else if (c.kind === 'qos') {
      for (const inner of subdirs(path)) {
        const p = classifyCgroupDir(inner);
        if (p.kind === 'pod') pods.push(podAt(p.uid, join(path, inner)));
      }
    }
  }
  return pods;
}

function podAt(uid: string, path: string): PodCgroup {
  const containers: ContainerCgroup[] = [];
  for (const entry of subdirs(path)) {
    const c = classifyCgroupDir(entry);
    if (c.kind === 'container') containers.push({ id: c.id, path: join(path, entry) });
  }
  return { uid, path, containers };
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
