// Which cgroup hierarchy the host runs. cgroup v2 has `cgroup.controllers` at its root; a v1 (or hybrid)
// host has per-controller hierarchies such as `memory/` and `cpu,cpuacct/` instead. A simulated node
// writes only the kubepods subtree of a v2 hierarchy, so a kubepods tree with no v1 controller directories
// also counts as v2.
import { existsSync } from 'node:fs';
import { join } from 'node:path';

export type CgroupVersion = 'v2' | 'v1' | 'none';

export const KUBEPODS_DIRS = ['kubepods.slice', 'kubepods'] as const;

export function detectCgroupVersion(cgroupRoot: string): CgroupVersion {
  if (existsSync(join(cgroupRoot, 'cgroup.controllers'))) return 'v2';
  if (existsSync(join(cgroupRoot, 'memory')) || existsSync(join(cgroupRoot, 'cpu,cpuacct'))) return 'v1';
  if (KUBEPODS_DIRS.some((d) => existsSync(join(cgroupRoot, d)))) return 'v2';
  return 'none';
}
