// Runs a container the chart renders as a local process, standing in for the kubelet: volumes become local
// directories (ConfigMaps and Secrets written out, emptyDirs and writable hostPaths as fresh temp dirs,
// read-only hostPaths as the real host paths), laid out under a private root at their mountPaths, and env
// values that are container paths are rewritten into that root. What runs is the rendered command and env.
import { type ChildProcess, spawn } from 'node:child_process';
import { mkdirSync, mkdtempSync, symlinkSync, writeFileSync } from 'node:fs';
import { dirname, join, relative } from 'node:path';
import { find, type Manifest, repoRoot } from './helm.ts';

type Volume = {
  name: string;
  configMap?: { name: string };
  secret?: { secretName: string };
  hostPath?: { path: string };
  emptyDir?: unknown;
  persistentVolumeClaim?: unknown;
};
type Mount = { name: string; mountPath: string; readOnly?: boolean };
type EnvVar = { name: string; value?: string; valueFrom?: { fieldRef?: { fieldPath: string } } };

// The image's ENTRYPOINT (see Dockerfile); the chart gives only args.
const entrypoint = ['node', 'cli/main.ts'];

export type EmulatedPod = { root: string; env: Record<string, string>; argv: string[] };

function volumeSource(manifests: Manifest[], volume: Volume, mount: Mount, scratch: string): string {
  const dir = mkdtempSync(join(scratch, `${volume.name}-`));
  const data = volume.configMap
    ? find(manifests, 'ConfigMap', volume.configMap.name).data
    : volume.secret
      ? Object.fromEntries(
          Object.entries(
            find(manifests, 'Secret', volume.secret.secretName).data as Record<string, string>,
          ).map(([k, v]) => [k, Buffer.from(v, 'base64').toString('utf8')]),
        )
      : undefined;
  if (data) {
    for (const [file, content] of Object.entries(data as Record<string, string>))
      writeFileSync(join(dir, file), content);
    return dir;
  }
  // Read-only host paths are read for real; a writable one never touches this machine's path.
  if (volume.hostPath && mount.readOnly === true) return volume.hostPath.path;
  return dir;
}

export function emulatePod(
  manifests: Manifest[],
  kind: string,
  name: string,
  options: { scratch: string; nodeName: string; env?: Record<string, string> },
): EmulatedPod {
  const spec = find(manifests, kind, name).spec.template.spec;
  const container = spec.containers[0];
  const root = mkdtempSync(join(options.scratch, 'root-'));
  const mountPaths: string[] = [];
  const sources = new Map<string, string>();
  // Parents first, like the runtime (containerd sorts mounts by depth).
  const mounts = [...(container.volumeMounts as Mount[])].sort(
    (a, b) => a.mountPath.length - b.mountPath.length,
  );
  for (const mount of mounts) {
    const volume = (spec.volumes as Volume[]).find((v) => v.name === mount.name);
    if (!volume) throw new Error(`volumeMount ${mount.name} has no volume`);
    const source = volumeSource(manifests, volume, mount, options.scratch);
    mountPaths.push(mount.mountPath);
    // A mount nested in another (host / at /host, then host /proc at /host/proc) is already there when both are
    // the same host path; anything else cannot be laid out with symlinks without writing into the parent.
    const parent = [...sources.keys()].find((m) => mount.mountPath.startsWith(`${m}/`));
    if (parent !== undefined) {
      const seen = join(sources.get(parent)!, relative(parent, mount.mountPath));
      if (seen !== source)
        throw new Error(`volumeMount ${mount.name} at ${mount.mountPath} hides ${seen} with ${source}`);
      continue;
    }
    sources.set(mount.mountPath, source);
    const target = join(root, mount.mountPath);
    mkdirSync(dirname(target), { recursive: true });
    symlinkSync(source, target);
  }
  // A path is inside the pod's filesystem view when it lies under a mount or above one (like /host).
  const inPodTree = (value: string) =>
    value.startsWith('/') &&
    mountPaths.some((m) => value === m || value.startsWith(`${m}/`) || m.startsWith(`${value}/`));
  const env: Record<string, string> = { PATH: process.env['PATH'] ?? '' };
  for (const e of container.env as EnvVar[]) {
    if (e.valueFrom?.fieldRef?.fieldPath === 'spec.nodeName') env[e.name] = options.nodeName;
    else if (e.value !== undefined) env[e.name] = inPodTree(e.value) ? join(root, e.value) : e.value;
  }
  Object.assign(env, options.env ?? {});
  const argv = [...(container.command ?? entrypoint), ...(container.args ?? [])];
  return { root, env, argv };
}

export type Running = { child: ChildProcess; output: () => string; exited: Promise<number | null> };

export function start(pod: EmulatedPod): Running {
  const [command, ...args] = pod.argv;
  if (command !== 'node') throw new Error(`expected the node entrypoint, got ${command}`);
  const child = spawn(process.execPath, args, {
    cwd: repoRoot,
    env: pod.env,
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let output = '';
  child.stdout?.on('data', (chunk) => {
    output += chunk;
  });
  child.stderr?.on('data', (chunk) => {
    output += chunk;
  });
  const exited = new Promise<number | null>((resolve) => child.on('exit', (code) => resolve(code)));
  return { child, output: () => output, exited };
}

// Polls `check` until it returns a value, the process dies, or the deadline passes.
export async function until<T>(
  what: string,
  check: () => Promise<T | undefined>,
  running: Running[],
  timeoutMs: number,
): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    for (const r of running)
      if (r.child.exitCode !== null)
        throw new Error(`${what}: a process exited (${r.child.exitCode}) first:\n${r.output().slice(-2000)}`);
    const value = await check().catch(() => undefined);
    if (value !== undefined) return value;
    if (Date.now() > deadline)
      throw new Error(
        `${what}: not reached in ${timeoutMs} ms\n${running.map((r) => r.output().slice(-1500)).join('\n---\n')}`,
      );
    await new Promise((resolve) => setTimeout(resolve, 200));
  }
}
