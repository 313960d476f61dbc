// Container logs exactly where and how the kubelet + containerd leave them:
// `var/log/pods/<ns>_<pod>_<uid>/<container>/<restartCount>.log`, one CRI line per message
// (`<RFC3339Nano> <stdout|stderr> <F|P> <message>`), rotated by size like the kubelet
// (rename `0.log` → `0.log.<YYYYMMDD-hhmmss>`, reopen `0.log`, keep `maxFiles` in total), plus the
// `var/log/containers/<pod>_<ns>_<container>-<id>.log` symlinks.
import {
  closeSync,
  existsSync,
  mkdirSync,
  openSync,
  readdirSync,
  renameSync,
  rmSync,
  symlinkSync,
  unlinkSync,
  writeSync,
} from 'node:fs';
import { join } from 'node:path';
import { isoNanos } from '../clock.ts';

export interface CriLine {
  wallMs: number;
  stream: 'stdout' | 'stderr';
  text: string;
}

export interface CriLogOptions {
  /** Rotate once the live file reaches this many bytes (kubelet containerLogMaxSize, default 10Mi). */
  maxBytes?: number;
  /** Files kept per container including the live one (kubelet containerLogMaxFiles, default 5). */
  maxFiles?: number;
  now?: () => number;
}

export interface ContainerLogRef {
  namespace: string;
  pod: string;
  uid: string;
  container: string;
  restartCount: number;
  containerId: string;
}

interface OpenLog {
  fd: number;
  path: string;
  size: number;
  ref: ContainerLogRef;
}

export function podLogDir(nodeRoot: string, ref: Pick<ContainerLogRef, 'namespace' | 'pod' | 'uid'>): string {
  return join(nodeRoot, 'var', 'log', 'pods', `${ref.namespace}_${ref.pod}_${ref.uid}`);
}

export function containerLogPath(nodeRoot: string, ref: ContainerLogRef): string {
  return join(podLogDir(nodeRoot, ref), ref.container, `${ref.restartCount}.log`);
}

/** Formats one CRI line; messages with newlines become several full lines, like a runtime splitting writes. */
export function formatCriLine(line: CriLine): string {
  const ts = isoNanos(line.wallMs);
  return line.text
    .split('\n')
    .map((t) => `${ts} ${line.stream} F ${t}\n`)
    .join('');
}

function rotationSuffix(ms: number): string {
  const d = new Date(ms);
  const p = (n: number) => String(n).padStart(2, '0');
  return `${d.getUTCFullYear()}${p(d.getUTCMonth() + 1)}${p(d.getUTCDate())}-${p(d.getUTCHours())}${p(d.getUTCMinutes())}${p(d.getUTCSeconds())}`;
}

export class CriLogWriter {
  private readonly root: string;
  private readonly maxBytes: number;
  private readonly maxFiles: number;
  private readonly now: () => number;
  private readonly open = new Map<string, OpenLog>();
  rotations = 0;
  bytesWritten = 0;

  constructor(nodeRoot: string, options: CriLogOptions = {}) {
    this.root = nodeRoot;
    this.maxBytes = options.maxBytes ?? 10 * 1024 * 1024;
    this.maxFiles = Math.max(2, options.maxFiles ?? 5);
    this.now = options.now ?? Date.now;
  }

  private key(ref: ContainerLogRef): string {
    return `${ref.uid}/${ref.container}`;
  }

  private openFor(ref: ContainerLogRef): OpenLog {
    const key = this.key(ref);
    let log = this.open.get(key);
    if (log && log.ref.restartCount !== ref.restartCount) {
      closeSync(log.fd);
      this.open.delete(key);
      this.pruneOldRestarts(ref);
      log = undefined;
    }
    if (!log) {
      const path = containerLogPath(this.root, ref);
      mkdirSync(join(podLogDir(this.root, ref), ref.container), { recursive: true });
      const fd = openSync(path, 'a');
      log = { fd, path, size: 0, ref: { ...ref } };
      this.open.set(key, log);
      this.link(ref, path);
    }
    return log;
  }

  private link(ref: ContainerLogRef, target: string): void {
    const dir = join(this.root, 'var', 'log', 'containers');
    mkdirSync(dir, { recursive: true });
    const linkPath = join(dir, `${ref.pod}_${ref.namespace}_${ref.container}-${ref.containerId}.log`);
    try {
      if (!existsSync(linkPath)) symlinkSync(target, linkPath);
    } catch {
      // A stale link from an earlier run is harmless.
    }
  }

  /** Keeps the current and the previous container's log, as the kubelet does after a restart. */
  private pruneOldRestarts(ref: ContainerLogRef): void {
    const dir = join(podLogDir(this.root, ref), ref.container);
    for (const f of readdirSync(dir)) {
      const n = Number(f.split('.')[0]);
      if (Number.isFinite(n) && n < ref.restartCount - 1) rmSync(join(dir, f), { force: true });
    }
  }

  append(ref: ContainerLogRef, lines: readonly CriLine[]): void {
    if (lines.length === 0) return;
    const log = this.openFor(ref);
    const text = lines.map(formatCriLine).join('');
    const bytes = Buffer.from(text);
    writeSync(log.fd, bytes);
    log.size += bytes.length;
    this.bytesWritten += bytes.length;
    if (log.size >= this.maxBytes) this.rotate(log);
  }

  private rotate(log: OpenLog): void {
    closeSync(log.fd);
    let rotated = `${log.path}.${rotationSuffix(this.now())}`;
    for (let i = 1; existsSync(rotated); i++) rotated = `${log.path}.${rotationSuffix(this.now())}.${i}`;
    renameSync(log.path, rotated);
    this.rotations++;
    const dir = join(podLogDir(this.root, log.ref), log.ref.container);
    const base = `${log.ref.restartCount}.log.`;
    const olds = readdirSync(dir)
      .filter((f) => f.startsWith(base))
      .sort();
    for (const f of olds.slice(0, Math.max(0, olds.length - (this.maxFiles - 1)))) unlinkSync(join(dir, f));
    log.fd = openSync(log.path, 'a');
    log.size = 0;
  }

  /** Closes files of containers that no longer exist; removes the pod directory when asked. */
  closePod(uid: string, removeDir?: string): void {
    for (const [k, log] of this.open) {
      if (!k.startsWith(`${uid}/`)) continue;
      closeSync(log.fd);
      this.open.delete(k);
    }
    if (removeDir) rmSync(removeDir, { recursive: true, force: true });
  }

  openPods(): string[] {
    return [...new Set([...this.open.keys()].map((k) => k.split('/')[0] ?? ''))];
  }

  close(): void {
    for (const log of this.open.values()) closeSync(log.fd);
    this.open.clear();
  }
}
