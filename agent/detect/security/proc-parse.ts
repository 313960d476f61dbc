// Parsers for the /proc files the runtime scan reads. Pure functions over file text, so they are tested on
// fixture strings and never depend on the machine they run on.

export interface ProcStatus {
  name: string;
  ppid?: number;
  uid?: number;
  /** Effective capabilities as a bit set. */
  capEff?: bigint;
}

export function parseStatus(text: string): ProcStatus {
  const out: ProcStatus = { name: '' };
  for (const line of text.split('\n')) {
    const colon = line.indexOf(':');
    if (colon < 0) continue;
    const key = line.slice(0, colon);
    const value = line.slice(colon + 1).trim();
    if (key === 'Name') out.name = value;
    else if (key === 'PPid') out.ppid = Number(value);
    else if (key === 'Uid') out.uid = Number(value.split(/\s+/)[0]);
    else if (key === 'CapEff' && /^[0-9a-fA-F]+$/.test(value)) out.capEff = BigInt(`0x${value}`);
  }
  return out;
}

export interface ProcStat {
  ppid: number;
  /** Controlling terminal device number; 0 when the process has none. */
  ttyNr: number;
  /** Start time in clock ticks since boot: with the pid, identifies one process across pid reuse. */
  startTime: string;
}

export function parseStat(text: string): ProcStat | undefined {
  // comm (field 2) may contain spaces and parentheses: split after the last ')'.
  const close = text.lastIndexOf(')');
  if (close < 0) return undefined;
  const fields = text
    .slice(close + 2)
    .trim()
    .split(/\s+/);
  if (fields.length < 20) return undefined;
  return { ppid: Number(fields[1]), ttyNr: Number(fields[4]), startTime: fields[19]! };
}

export interface ContainerRef {
  id: string;
  /** Pod UID when the cgroup path is a kubelet one. */
  podUid?: string;
  runtime: 'containerd' | 'cri-o' | 'docker' | 'unknown';
}

const CONTAINER_ID = /(?:^|[/-])(?:(cri-containerd|crio|docker|containerd)-)?([0-9a-f]{64})(?:\.scope)?$/;
const POD_UID = /pod([0-9a-f]{8}[-_][0-9a-f]{4}[-_][0-9a-f]{4}[-_][0-9a-f]{4}[-_][0-9a-f]{12})/;

/** Finds the container of a process from /proc/<pid>/cgroup (cgroup v1 or v2, systemd or cgroupfs driver). */
export function parseCgroup(text: string): ContainerRef | undefined {
  for (const line of text.split('\n')) {
    const path = line.slice(line.indexOf(':', line.indexOf(':') + 1) + 1).trim();
    if (!path) continue;
    const m = CONTAINER_ID.exec(path);
    if (!m) continue;
    const prefix = m[1];
    const runtime =
      prefix === 'cri-containerd' || prefix === 'containerd'
        ? 'containerd'
        : prefix === 'crio'
          ? 'cri-o'
          : prefix === 'docker' || path.includes('/docker/')
            ? 'docker'
            : path.includes('kubepods')
              ? 'containerd'
              : 'unknown';
    const ref: ContainerRef = { id: m[2]!, runtime };
    const pod = POD_UID.exec(path);
    if (pod) ref.podUid = pod[1]!.replace(/_/g, '-');
    return ref;
  }
  return undefined;
}

export interface TcpSocket {
  localIp: string;
  localPort: number;
  remoteIp: string;
  remotePort: number;
  /** ESTABLISHED, SYN_SENT, LISTEN, … */
  state: string;
  inode: string;
}

const TCP_STATES: Record<string, string> = {
  '01': 'ESTABLISHED',
  '02': 'SYN_SENT',
  '03': 'SYN_RECV',
  '04': 'FIN_WAIT1',
  '05': 'FIN_WAIT2',
  '06': 'TIME_WAIT',
  '07': 'CLOSE',
  '08': 'CLOSE_WAIT',
  '09': 'LAST_ACK',
  '0A': 'LISTEN',
  '0B': 'CLOSING',
};

/** Parses /proc/<pid>/net/tcp or tcp6. */
export function parseNetTcp(text: string): TcpSocket[] {
  const out: TcpSocket[] = [];
  const lines = text.split('\n');
  for (let i = 1; i < lines.length; i++) {
    const f = lines[i]!.trim().split(/\s+/);
    if (f.length < 10) continue;
    const local = splitAddress(f[1]!);
    const remote = splitAddress(f[2]!);
    if (!local || !remote) continue;
    out.push({
      localIp: local[0],
      localPort: local[1],
      remoteIp: remote[0],
      remotePort: remote[1],
      state: TCP_STATES[f[3]!.toUpperCase()] ?? f[3]!,
      inode: f[9]!,
    });
  }
  return out;
}

function splitAddress(text: string): [string, number] | undefined {
  const [hex, port] = text.split(':');
  if (!hex || !port) return undefined;
  const ip = hex.length === 8 ? ipv4(hex) : hex.length === 32 ? ipv6(hex) : undefined;
  return ip === undefined ? undefined : [ip, Number.parseInt(port, 16)];
}

/** The kernel prints the address as a host-order (little-endian on x86/arm) 32-bit word. */
function ipv4(hex: string): string {
  const n = Number.parseInt(hex, 16);
  return [n & 255, (n >>> 8) & 255, (n >>> 16) & 255, (n >>> 24) & 255].join('.');
}

function ipv6(hex: string): string {
  const bytes: number[] = [];
  for (let w = 0; w < 4; w++) {
    const word = hex.slice(w * 8, w * 8 + 8);
    for (let b = 3; b >= 0; b--) bytes.push(Number.parseInt(word.slice(b * 2, b * 2 + 2), 16));
  }
  // IPv4-mapped (::ffff:a.b.c.d): report the IPv4 address so rules and allow-lists need one form.
  if (bytes.slice(0, 10).every((b) => b === 0) && bytes[10] === 255 && bytes[11] === 255) {
    return bytes.slice(12).join('.');
  }
  const groups: string[] = [];
  for (let i = 0; i < 16; i += 2) groups.push(((bytes[i]! << 8) | bytes[i + 1]!).toString(16));
  return groups.join(':').replace(/(^|:)0(:0)+(:|$)/, '::');
}

/** The overlay upper directory of a container's root mount (from /proc/<pid>/mountinfo), if any. */
export function parseRootUpperDir(mountinfo: string): string | undefined {
  for (const line of mountinfo.split('\n')) {
    const sep = line.indexOf(' - ');
    if (sep < 0) continue;
    const left = line.slice(0, sep).split(' ');
    if (left[4] !== '/') continue;
    const right = line.slice(sep + 3).split(' ');
    if (right[0] !== 'overlay') continue;
    const upper = /(?:^|,)upperdir=([^,]+)/.exec(right[2] ?? '');
    if (upper) return upper[1];
  }
  return undefined;
}

/** NUL-separated /proc/<pid>/environ or cmdline to a list. */
export function splitNul(text: string): string[] {
  return text.split('\0').filter((s) => s.length > 0);
}
