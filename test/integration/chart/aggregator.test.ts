import { spawn } from 'node:child_process';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { describe, expect, it } from 'vitest';
import { agentName, aggregatorName, find, type Manifest, render } from './helm.ts';

type EnvVar = { name: string; value?: string };

function aggregatorPod(manifests: Manifest[]) {
  const deployment = find(manifests, 'Deployment', aggregatorName);
  const spec = deployment.spec.template.spec;
  const container = spec.containers.find((c: { name: string }) => c.name === 'aggregator');
  const envOf = (name: string) => (container.env as EnvVar[]).find((e) => e.name === name)?.value;
  return { deployment, spec, container, envOf };
}

describe('aggregator Deployment and Service (default values)', () => {
  const manifests = render();
  const { deployment, spec, container, envOf } = aggregatorPod(manifests);

  it('runs one replica and recreates it, since one process owns the LMDB state', () => {
    expect(deployment.spec.replicas).toBe(1);
    expect(deployment.spec.strategy).toEqual({ type: 'Recreate' });
  });

  it('keeps its state in an emptyDir and creates no claim', () => {
    expect(spec.volumes.find((v: { name: string }) => v.name === 'state')).toEqual({
      name: 'state',
      emptyDir: {},
    });
    expect(manifests.some((m) => m.kind === 'PersistentVolumeClaim')).toBe(false);
  });

  it('passes ports, state dir, log level and config path through the contract env vars', () => {
    expect(container.args).toEqual(['aggregator']);
    expect(envOf('VIGIL_GRPC_PORT')).toBe('7400');
    expect(envOf('VIGIL_HTTP_PORT')).toBe('9100');
    expect(envOf('VIGIL_STATE_DIR')).toBe('/var/lib/vigil');
    expect(envOf('VIGIL_LOG_LEVEL')).toBe('info');
    expect(envOf('VIGIL_CONFIG')).toBe('/etc/vigil/config/config.yaml');
  });

  it('probes /healthz and /readyz on the http port', () => {
    expect(container.livenessProbe.httpGet).toEqual({ path: '/healthz', port: 'http' });
    expect(container.readinessProbe.httpGet).toEqual({ path: '/readyz', port: 'http' });
  });

  it('runs unprivileged as the image user with a read-only root filesystem', () => {
    expect(spec.securityContext).toMatchObject({ runAsNonRoot: true, runAsUser: 1000 });
    expect(container.securityContext).toMatchObject({
      readOnlyRootFilesystem: true,
      allowPrivilegeEscalation: false,
      capabilities: { drop: ['ALL'] },
    });
    expect(container.securityContext.capabilities.add).toBeUndefined();
  });

  it('exposes gRPC 7400 and http 9100 through a ClusterIP Service that selects only the aggregator', () => {
    const service = find(manifests, 'Service', aggregatorName);
    expect(service.spec.type).toBe('ClusterIP');
    expect(service.spec.ports.map((p: { name: string; port: number }) => [p.name, p.port])).toEqual([
      ['grpc', 7400],
      ['http', 9100],
    ]);
    const podLabels = deployment.spec.template.metadata.labels as Record<string, string>;
    for (const [key, value] of Object.entries(service.spec.selector as Record<string, string>))
      expect(podLabels[key]).toBe(value);
    const agentLabels = find(manifests, 'DaemonSet', agentName).spec.template.metadata.labels;
    expect(Object.entries(service.spec.selector).every(([k, v]) => agentLabels[k] === v)).toBe(false);
  });
});

describe('aggregator with persistence', () => {
  it('mounts a created claim of the requested size and keeps it on uninstall', () => {
    const manifests = render({
      set: { 'aggregator.persistence.enabled': true, 'aggregator.persistence.size': '20Gi' },
      setString: { 'aggregator.persistence.storageClass': 'fast' },
    });
    const claim = find(manifests, 'PersistentVolumeClaim', `${aggregatorName}-state`);
    expect(claim.spec.resources.requests.storage).toBe('20Gi');
    expect(claim.spec.storageClassName).toBe('fast');
    expect(claim.metadata.annotations?.['helm.sh/resource-policy']).toBe('keep');
    const { spec } = aggregatorPod(manifests);
    expect(spec.volumes.find((v: { name: string }) => v.name === 'state')).toEqual({
      name: 'state',
      persistentVolumeClaim: { claimName: `${aggregatorName}-state` },
    });
  });

  it('uses an existing claim without creating one', () => {
    const manifests = render({
      set: { 'aggregator.persistence.enabled': true },
      setString: { 'aggregator.persistence.existingClaim': 'vigil-data' },
    });
    expect(manifests.some((m) => m.kind === 'PersistentVolumeClaim')).toBe(false);
    const { spec } = aggregatorPod(manifests);
    expect(
      spec.volumes.find((v: { name: string }) => v.name === 'state').persistentVolumeClaim.claimName,
    ).toBe('vigil-data');
  });
});

describe('TLS', () => {
  const tlsOn = {
    set: { 'tls.enabled': true },
    setString: {
      'tls.agentSecretName': 'vigil-agent-tls',
      'tls.aggregatorSecretName': 'vigil-aggregator-tls',
    },
  };

  it('mounts each component its own Secret read-only and points the TLS env vars into it', () => {
    const manifests = render(tlsOn);
    const agentSpec = find(manifests, 'DaemonSet', agentName).spec.template.spec;
    const { spec } = aggregatorPod(manifests);
    for (const [podSpec, secretName] of [
      [agentSpec, 'vigil-agent-tls'],
      [spec, 'vigil-aggregator-tls'],
    ] as const) {
      const volume = podSpec.volumes.find((v: { name: string }) => v.name === 'tls');
      expect(volume.secret.secretName).toBe(secretName);
      const container = podSpec.containers[0];
      expect(container.volumeMounts.find((m: { name: string }) => m.name === 'tls')).toEqual({
        name: 'tls',
        mountPath: '/etc/vigil/tls',
        readOnly: true,
      });
      const env = Object.fromEntries(container.env.map((e: EnvVar) => [e.name, e.value]));
      expect(env['VIGIL_TLS_CA']).toBe('/etc/vigil/tls/ca.crt');
      expect(env['VIGIL_TLS_CERT']).toBe('/etc/vigil/tls/tls.crt');
      expect(env['VIGIL_TLS_KEY']).toBe('/etc/vigil/tls/tls.key');
    }
  });
});

describe('optional resources', () => {
  it('renders no ServiceMonitor and no NetworkPolicy by default', () => {
    const kinds = new Set(render().map((m) => m.kind));
    expect(kinds.has('ServiceMonitor')).toBe(false);
    expect(kinds.has('NetworkPolicy')).toBe(false);
  });

  it('renders ServiceMonitors whose selectors match the agent and aggregator Services', () => {
    const manifests = render({
      set: { 'metrics.serviceMonitor.enabled': true, 'metrics.serviceMonitor.labels.release': 'kps' },
    });
    const services = manifests.filter((m) => m.kind === 'Service');
    for (const monitor of manifests.filter((m) => m.kind === 'ServiceMonitor')) {
      expect(monitor.metadata.labels?.['release']).toBe('kps');
      const selector = monitor.spec.selector.matchLabels as Record<string, string>;
      const matched = services.filter((s) =>
        Object.entries(selector).every(([k, v]) => s.metadata.labels?.[k] === v),
      );
      expect(matched).toHaveLength(1);
      expect(matched[0]?.spec.ports.map((p: { name: string }) => p.name)).toContain(
        monitor.spec.endpoints[0].port,
      );
    }
    expect(manifests.filter((m) => m.kind === 'ServiceMonitor')).toHaveLength(2);
  });

  it('lets only agents reach the aggregator gRPC port when network policies are on', () => {
    const manifests = render({ set: { 'networkPolicy.enabled': true } });
    const policy = find(manifests, 'NetworkPolicy', aggregatorName);
    const grpcRule = policy.spec.ingress.find(
      (r: { ports: Array<{ port: string }> }) => r.ports[0]?.port === 'grpc',
    );
    expect(grpcRule.from).toHaveLength(1);
    const agentLabels = find(manifests, 'DaemonSet', agentName).spec.template.metadata.labels;
    for (const [k, v] of Object.entries(grpcRule.from[0].podSelector.matchLabels))
      expect(agentLabels[k]).toBe(v);
  });
});

describe('helm test hook', () => {
  const manifests = render();
  const pod = find(manifests, 'Pod', 'obs-vigil-test-aggregator-ready');
  const container = pod.spec.containers[0];

  it('is a test hook that targets the aggregator Service readiness endpoint', () => {
    expect(pod.metadata.annotations?.['helm.sh/hook']).toBe('test');
    expect(container.args[1]).toBe(`http://${aggregatorName}.vigil-system.svc:9100/readyz`);
  });

  it('exits 0 when /readyz answers 200 and 1 when it answers 503 or nobody listens', async () => {
    let status = 200;
    const server = createServer((req, res) => {
      res.statusCode = req.url === '/readyz' ? status : 404;
      res.end();
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    const { port } = server.address() as AddressInfo;
    // The pod's own command line, pointed at a local server instead of the Service.
    const run = async (url: string) => {
      const [command, ...flags] = container.command as string[];
      expect(command).toBe('node');
      const child = spawn(process.execPath, [...flags, container.args[0], url], { stdio: 'ignore' });
      return await new Promise<number | null>((resolve) => child.on('exit', resolve));
    };
    try {
      expect(await run(`http://127.0.0.1:${port}/readyz`)).toBe(0);
      status = 503;
      expect(await run(`http://127.0.0.1:${port}/readyz`)).toBe(1);
    } finally {
      await new Promise((resolve) => server.close(resolve));
    }
    expect(await run(`http://127.0.0.1:${port}/readyz`)).toBe(1);
  });

  it('is not rendered when tests.enabled is false', () => {
    expect(render({ set: { 'tests.enabled': false } }).some((m) => m.kind === 'Pod')).toBe(false);
  });
});
