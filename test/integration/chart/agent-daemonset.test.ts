import { describe, expect, it } from 'vitest';
import { AGENT_NODE_FLAGS, AGENT_SEMI_SPACE_MIB } from '../../../agent/v8-flags.ts';
import { agentName, aggregatorName, find, type Manifest, namespace, render } from './helm.ts';

type Volume = { name: string; hostPath?: { path: string; type?: string }; [k: string]: unknown };
type Mount = { name: string; mountPath: string; readOnly?: boolean; mountPropagation?: string };
type EnvVar = { name: string; value?: string; valueFrom?: { fieldRef?: { fieldPath: string } } };

function agentPod(manifests: Manifest[]) {
  const ds = find(manifests, 'DaemonSet', agentName);
  const spec = ds.spec.template.spec;
  const container = spec.containers.find((c: { name: string }) => c.name === 'agent');
  return {
    ds,
    spec,
    container,
    volumes: spec.volumes as Volume[],
    mounts: container.volumeMounts as Mount[],
  };
}

function env(container: { env: EnvVar[] }, name: string): EnvVar {
  const found = container.env.find((e) => e.name === name);
  if (!found) throw new Error(`env ${name} is missing`);
  return found;
}

describe('agent DaemonSet (default values)', () => {
  const { ds, spec, container, volumes, mounts } = agentPod(render());

  it('runs on every node: tolerates every taint and is system-node-critical', () => {
    expect(spec.tolerations).toEqual([{ operator: 'Exists' }]);
    expect(spec.priorityClassName).toBe('system-node-critical');
  });

  it('rolls out at most 10% of nodes at a time', () => {
    expect(ds.spec.updateStrategy).toEqual({
      type: 'RollingUpdate',
      rollingUpdate: { maxUnavailable: '10%' },
    });
  });

  it('mounts every host path read-only except the state directory', () => {
    const hostVolumes = volumes.filter((v) => v.hostPath !== undefined);
    const writable = hostVolumes.filter((v) => mounts.find((m) => m.name === v.name)?.readOnly !== true);
    expect(writable.map((v) => v.hostPath?.path)).toEqual(['/var/lib/vigil']);
    expect(writable[0]?.hostPath?.type).toBe('DirectoryOrCreate');
    expect(mounts.find((m) => m.name === writable[0]?.name)?.mountPath).toBe('/var/lib/vigil');
  });

  it('mounts /var/log, /proc and /sys/fs/cgroup of the host under /host, where VIGIL_HOST_ROOT points', () => {
    const hostMounts = Object.fromEntries(
      volumes
        .filter((v) => v.hostPath !== undefined && v.hostPath.path !== '/var/lib/vigil')
        .map((v) => [v.hostPath?.path, mounts.find((m) => m.name === v.name)]),
    );
    expect(hostMounts['/var/log']).toMatchObject({ mountPath: '/host/var/log', readOnly: true });
    expect(hostMounts['/proc']).toMatchObject({ mountPath: '/host/proc', readOnly: true });
    expect(hostMounts['/sys/fs/cgroup']).toMatchObject({ mountPath: '/host/sys/fs/cgroup', readOnly: true });
    // The host's / under /host, so disk and inode usage is statfs of the host's filesystems, not the overlay.
    expect(hostMounts['/']).toMatchObject({
      mountPath: '/host',
      readOnly: true,
      mountPropagation: 'HostToContainer',
    });
    expect(env(container, 'VIGIL_HOST_ROOT').value).toBe('/host');
    expect(env(container, 'VIGIL_STATE_DIR').value).toBe('/var/lib/vigil');
  });

  it('probes /healthz for liveness and /readyz for readiness on the http port', () => {
    const http = container.ports.find((p: { name: string }) => p.name === 'http');
    expect(http.containerPort).toBe(9100);
    expect(container.livenessProbe.httpGet).toEqual({ path: '/healthz', port: 'http' });
    expect(container.readinessProbe.httpGet).toEqual({ path: '/readyz', port: 'http' });
    // A slow start (opening LMDB, replaying the outbox) is the startup probe's business, not a liveness kill.
    expect(container.startupProbe.httpGet).toEqual({ path: '/healthz', port: 'http' });
    expect(
      container.startupProbe.periodSeconds * container.startupProbe.failureThreshold,
    ).toBeGreaterThanOrEqual(60);
    expect(env(container, 'VIGIL_HTTP_PORT').value).toBe('9100');
  });

  it('learns its node name from the downward API', () => {
    expect(env(container, 'VIGIL_NODE_NAME').valueFrom).toEqual({ fieldRef: { fieldPath: 'spec.nodeName' } });
  });

  it('dials the aggregator Service of the same release on its gRPC port', () => {
    expect(env(container, 'VIGIL_AGGREGATOR').value).toBe(`${aggregatorName}.${namespace}.svc:7400`);
  });

  it('passes the contract env vars with their documented defaults', () => {
    expect(env(container, 'VIGIL_WINDOW_SECONDS').value).toBe('10');
    expect(env(container, 'VIGIL_LOG_LEVEL').value).toBe('info');
    expect(env(container, 'VIGIL_OUTBOX_MAX_BYTES').value).toBe(String(256 * 1024 * 1024));
    expect(env(container, 'VIGIL_CONFIG').value).toBe('/etc/vigil/config/config.yaml');
    expect(mounts.find((m) => m.name === 'config')).toMatchObject({
      mountPath: '/etc/vigil/config',
      readOnly: true,
    });
    expect(container.env.some((e: EnvVar) => e.name.startsWith('VIGIL_TLS_'))).toBe(false);
  });

  it('runs the agent command of the image', () => {
    expect(container.args).toEqual(['agent']);
    expect(container.image).toMatch(/^ghcr\.io\/vigil-aiops\/vigil:\d+\.\d+\.\d+/);
  });

  it('keeps every capability dropped but DAC_READ_SEARCH and SYS_PTRACE, on a read-only root filesystem', () => {
    const sc = container.securityContext;
    expect(sc.capabilities).toEqual({ drop: ['ALL'], add: ['DAC_READ_SEARCH', 'SYS_PTRACE'] });
    expect(sc.readOnlyRootFilesystem).toBe(true);
    expect(sc.allowPrivilegeEscalation).toBe(false);
    expect(sc.privileged).toBe(false);
    expect(spec.hostNetwork).toBeUndefined();
    expect(spec.hostPID).toBe(true);
  });

  it('requests 50m CPU and 192Mi, is limited to 512Mi, and caps the V8 heap below the limit', () => {
    expect(container.resources).toEqual({
      requests: { cpu: '50m', memory: '192Mi' },
      limits: { memory: '512Mi' },
    });
    const heap = /--max-old-space-size=(\d+)/.exec(env(container, 'NODE_OPTIONS').value ?? '');
    expect(Number(heap?.[1])).toBeGreaterThan(192);
    expect(Number(heap?.[1])).toBeLessThan(512);
  });

  it('starts the agent with the V8 flags the demo gives its agents (the young-generation cap)', () => {
    const options = (env(container, 'NODE_OPTIONS').value ?? '').split(' ');
    for (const flag of AGENT_NODE_FLAGS) expect(options).toContain(flag);
  });
});

describe('agent AppArmor profile', () => {
  it('is Unconfined through the securityContext field on Kubernetes 1.30 and later', () => {
    const { container, ds } = agentPod(render({ kubeVersion: '1.30.0' }));
    expect(container.securityContext.appArmorProfile).toEqual({ type: 'Unconfined' });
    expect(Object.keys(ds.spec.template.metadata.annotations).some((k) => k.includes('apparmor'))).toBe(
      false,
    );
  });

  it('is Unconfined through the beta annotation before 1.30', () => {
    const { container, ds } = agentPod(render({ kubeVersion: '1.29.4' }));
    expect(container.securityContext.appArmorProfile).toBeUndefined();
    expect(
      ds.spec.template.metadata.annotations['container.apparmor.security.beta.kubernetes.io/agent'],
    ).toBe('unconfined');
  });

  it('is left to the cluster when set to ""', () => {
    const { container, ds } = agentPod(render({ setString: { 'agent.appArmorProfile': '' } }));
    expect(container.securityContext.appArmorProfile).toBeUndefined();
    expect(Object.keys(ds.spec.template.metadata.annotations).some((k) => k.includes('apparmor'))).toBe(
      false,
    );
  });
});

describe('agent DaemonSet (overrides)', () => {
  it('renders a 4 GiB outbox cap as an exact integer, not in float notation', () => {
    const { container } = agentPod(render({ set: { 'agent.outboxMaxBytes': 4 * 1024 ** 3 } }));
    expect(env(container, 'VIGIL_OUTBOX_MAX_BYTES').value).toBe('4294967296');
  });

  it('leaves the host root filesystem unmounted when hostPaths.root is empty, keeping the other host paths', () => {
    const { volumes, mounts } = agentPod(render({ setString: { 'agent.hostPaths.root': '' } }));
    expect(volumes.find((v) => v.hostPath?.path === '/')).toBeUndefined();
    expect(mounts.find((m) => m.mountPath === '/host')).toBeUndefined();
    expect(mounts.find((m) => m.mountPath === '/host/proc')).toMatchObject({ readOnly: true });
  });

  it('drops hostPID when asked', () => {
    const { spec } = agentPod(render({ set: { 'agent.hostPID': false } }));
    expect(spec.hostPID).toBe(false);
  });

  it('keeps only the young-generation cap in NODE_OPTIONS when there is no memory limit', () => {
    const { container } = agentPod(render({ set: { 'agent.resources.limits': 'null' } }));
    expect(env(container, 'NODE_OPTIONS').value).toBe(`--max-semi-space-size=${AGENT_SEMI_SPACE_MIB}`);
  });

  it('leaves NODE_OPTIONS out with no memory limit and semiSpaceMiB 0', () => {
    const { container } = agentPod(
      render({ set: { 'agent.resources.limits': 'null', 'agent.semiSpaceMiB': 0 } }),
    );
    expect(container.env.some((e: EnvVar) => e.name === 'NODE_OPTIONS')).toBe(false);
  });

  it('derives the heap cap from a limit in Gi', () => {
    const { container } = agentPod(
      render({ set: { 'agent.resources.limits.memory': '1Gi', 'agent.semiSpaceMiB': 8 } }),
    );
    expect(env(container, 'NODE_OPTIONS').value).toBe(
      `--max-old-space-size=${Math.floor(1024 * 0.6)} --max-semi-space-size=8`,
    );
  });

  it('uses an explicit aggregator address and a pinned digest', () => {
    const digest = `sha256:${'a'.repeat(64)}`;
    const { container } = agentPod(
      render({ set: { 'agent.aggregatorAddress': 'vigil.example.net:443', 'image.digest': digest } }),
    );
    expect(env(container, 'VIGIL_AGGREGATOR').value).toBe('vigil.example.net:443');
    expect(container.image).toBe(`ghcr.io/vigil-aiops/vigil@${digest}`);
  });
});
