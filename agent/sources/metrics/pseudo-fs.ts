// Whether a directory is on a kernel pseudo-filesystem (procfs, cgroup2, sysfs), whose files regenerate
// their content on every read from offset 0 and may therefore be kept open between samples.
import { statfsSync } from 'node:fs';

const PROC_SUPER_MAGIC = 0x9fa0;
const CGROUP2_SUPER_MAGIC = 0x63677270;
const SYSFS_MAGIC = 0x62656572;
const PSEUDO = new Set([PROC_SUPER_MAGIC, CGROUP2_SUPER_MAGIC, SYSFS_MAGIC]);

export function isPseudoFs(path: string): boolean {
  try {
    return PSEUDO.has(statfsSync(path).type);
  } catch {
    return false;
  }
}
