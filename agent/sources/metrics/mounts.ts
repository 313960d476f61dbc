// The host's mount table (`<hostRoot>/proc/1/mounts`: init's mount namespace, i.e. the host's view even
// from inside the agent's container) reduced to the filesystems that can fill up: block-device filesystems,
// each device once, outside the per-pod and per-container mount trees.

export interface Mount {
  device: string;
  mountPoint: string;
  type: string;
}

/** Filesystems on storage. Network filesystems are left out: statfs on a dead NFS server blocks. */
const DISK_TYPES = new Set([
  'ext2',
  'ext3',
  'ext4',
  'xfs',
  'btrfs',
  'zfs',
  'f2fs',
  'vfat',
  'exfat',
  'jfs',
  'reiserfs',
  'bcachefs',
]);

/** Mount trees managed by the kubelet and container runtimes: volumes, overlays, bind mounts. */
const MANAGED_PREFIXES = [
  '/var/lib/kubelet/pods/',
  '/var/lib/kubelet/plugins/',
  '/var/lib/docker/',
  '/var/lib/containerd/',
  '/var/lib/containers/',
  '/run/containerd/',
  '/run/k3s/',
  '/proc/',
  '/sys/',
  '/dev/',
];

export function parseMounts(text: string): Mount[] {
  const out: Mount[] = [];
  for (const line of text.split('\n')) {
    const [device, mountPoint, type] = line.split(' ');
    if (!device || !mountPoint || !type) continue;
    out.push({ device: unescapeOctal(device), mountPoint: unescapeOctal(mountPoint), type });
  }
  return out;
}

/** Disk filesystems to watch, one mount per device (the shortest mount point: `/` before its bind mounts). */
export function diskFilesystems(mounts: readonly Mount[]): Mount[] {
  const byDevice = new Map<string, Mount>();
  for (const m of mounts) {
    if (!DISK_TYPES.has(m.type)) continue;
    if (MANAGED_PREFIXES.some((p) => m.mountPoint.startsWith(p))) continue;
    const seen = byDevice.get(m.device);
    if (!seen || m.mountPoint.length < seen.mountPoint.length) byDevice.set(m.device, m);
  }
  return [...byDevice.values()].sort((a, b) => a.mountPoint.localeCompare(b.mountPoint));
}

/** The kernel escapes space, tab, newline and backslash in mount fields as `\040`-style octal. */
function unescapeOctal(s: string): string {
  return s.includes('\\')
    ? s.replace(/\\([0-7]{3})/g, (_, o: string) => String.fromCharCode(Number.parseInt(o, 8)))
    : s;
}
