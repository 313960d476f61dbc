// Space and inodes per filesystem. On a real node: statfs(2) of `<hostRoot><mountPoint>` for each disk
// filesystem in the host's mount table. On a simulated node, whose disks cannot be faked for statfs,
// `<hostRoot>/.sim/statfs.json` holds the same fields keyed by mount point, and is used instead when present.
import { statfsSync } from 'node:fs';
import { join } from 'node:path';
import { z } from 'zod';
import { errorCode } from './small-file.ts';

export interface FsUsage {
  mountPoint: string;
  /** Bytes in use: (blocks − bfree) × bsize. */
  usedBytes: number;
  /** Bytes an unprivileged writer can still use (bavail): the reserved blocks are not counted as free. */
  availableBytes: number;
  /** used + available: what `df` computes Use% against, so "full" means available hits 0. */
  capacityBytes: number;
  inodesUsed: number;
  inodesTotal: number;
}

export interface StatfsFields {
  bsize: number;
  blocks: number;
  bfree: number;
  bavail: number;
  files: number;
  ffree: number;
}

const SimStatfsSchema = z.record(
  z.string(),
  z.object({
    bsize: z.number(),
    blocks: z.number(),
    bfree: z.number(),
    bavail: z.number(),
    files: z.number(),
    ffree: z.number(),
  }),
);

export function usageFromStatfs(mountPoint: string, s: StatfsFields): FsUsage | undefined {
  if (!(s.blocks > 0) || !(s.bsize > 0)) return undefined;
  const usedBytes = (s.blocks - s.bfree) * s.bsize;
  const availableBytes = s.bavail * s.bsize;
  return {
    mountPoint,
    usedBytes,
    availableBytes,
    capacityBytes: usedBytes + availableBytes,
    // Filesystems without a fixed inode table (btrfs) report files = 0.
    inodesUsed: s.files > 0 ? s.files - s.ffree : 0,
    inodesTotal: s.files,
  };
}

/** Parses the simulator's statfs.json into usages; throws on a malformed file. */
export function parseSimStatfs(text: string): FsUsage[] {
  const parsed = SimStatfsSchema.parse(JSON.parse(text));
  const out: FsUsage[] = [];
  for (const [mountPoint, fields] of Object.entries(parsed)) {
    const u = usageFromStatfs(mountPoint, fields);
    if (u) out.push(u);
  }
  return out;
}

export interface StatfsResult {
  usage?: FsUsage;
  error?: string;
}

/** overlayfs: the root filesystem of a container. */
export const OVERLAYFS_MAGIC = 0x794c7630;

/**
 * statfs of a host mount point seen below hostRoot. If the host's / is not mounted at hostRoot (only
 * hostRoot/proc, /sys and /var/log are), `<hostRoot><mountPoint>` is a directory of the agent's own container
 * and statfs would measure the container's overlay instead of the host's disk: that is refused.
 */
export function statfsMount(hostRoot: string, mountPoint: string, hostType: string): StatfsResult {
  try {
    const s = statfsSync(join(hostRoot, mountPoint));
    if (s.type === OVERLAYFS_MAGIC && hostType !== 'overlay')
      return {
        error: `${join(hostRoot, mountPoint)} is an overlay, not the host's ${hostType} filesystem: mount the host's / at hostRoot`,
      };
    const usage = usageFromStatfs(mountPoint, s);
    return usage ? { usage } : {};
  } catch (error) {
    return { error: errorCode(error) };
  }
}
