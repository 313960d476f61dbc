// The chart and the processes meet at env vars and one YAML file. These tests feed what the chart renders (the
// pod env and the ConfigMap) to the processes' own settings loader, so a renamed env var, a key the loader
// refuses or a value it cannot parse fails here instead of in a CrashLoopBackOff.
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { agentSettings } from '../../../agent/settings.ts';
import { aggregatorSettings } from '../../../aggregator/settings.ts';
import { loadConfig, type Settings } from '../../../common/config/settings.ts';
import {
  agentName,
  aggregatorName,
  find,
  type Manifest,
  namespace,
  type Overrides,
  render,
  repoRoot,
  templateRaw,
} from './helm.ts';

type EnvVar = { name: string; value?: string; valueFrom?: { fieldRef?: { fieldPath: string } } };

const workDir = mkdtempSync(join(tmpdir(), 'vigil-chart-contract-'));
afterAll(() => rmSync(workDir, { recursive: true, force: true }));

const nodeName = 'node-7';

// The environment a container of the workload would see, with the ConfigMap written where VIGIL_CONFIG points.
function podEnvironment(manifests: Manifest[], kind: string, name: string): Record<string, string> {
  const container = find(manifests, kind, name).spec.template.spec.containers[0];
  const configMap = find(manifests, 'ConfigMap', 'obs-vigil-config');
  const configPath = join(workDir, `${name}-config.yaml`);
  writeFileSync(configPath, configMap.data['config.yaml']);
  const env: Record<string, string> = {};
  for (const e of container.env as EnvVar[]) {
    if (e.valueFrom?.fieldRef?.fieldPath === 'spec.nodeName') env[e.name] = nodeName;
    else if (e.value !== undefined) env[e.name] = e.value;
  }
  expect(env['VIGIL_CONFIG']).toBe('/etc/vigil/config/config.yaml');
  env['VIGIL_CONFIG'] = configPath;
  return env;
}

function load(settings: Settings, section: string, overrides: Overrides = {}) {
  const manifests = render(overrides);
  const [kind, name] = section === 'agent' ? ['DaemonSet', agentName] : ['Deployment', aggregatorName];
  const env = podEnvironment(manifests, kind as string, name as string);
  return { env, config: loadConfig(settings, { env, section }) as Record<string, unknown> };
}

const envOf = (settings: Settings) => new Set(Object.values(settings).map((s) => s.env));

describe('the agent reads what the chart gives it', () => {
  it('loads the rendered env and config file with its own settings loader', () => {
    const { config } = load(agentSettings, 'agent');
    expect(config).toMatchObject({
      node: nodeName,
      aggregator: `${aggregatorName}.${namespace}.svc:7400`,
      hostRoot: '/host',
      stateDir: '/var/lib/vigil',
      windowSeconds: 10,
      outboxMaxBytes: 256 * 1024 * 1024,
      httpPort: 9100,
      logLevel: 'info',
    });
    expect(config['tlsCa']).toBeUndefined();
  });

  it('sets no VIGIL_* variable the agent does not read', () => {
    const { env } = load(agentSettings, 'agent');
    const known = envOf(agentSettings);
    expect(
      Object.keys(env).filter((k) => k.startsWith('VIGIL_') && k !== 'VIGIL_CONFIG' && !known.has(k)),
    ).toEqual([]);
  });

  it('passes file keys the chart does not manage through the config section', () => {
    const { config } = load(agentSettings, 'agent', {
      set: { 'config.agent.shutdownGraceSeconds': 12, 'config.agent.systemMetrics': false },
    });
    expect(config['shutdownGraceSeconds']).toBe(12);
    expect(config['systemMetrics']).toBe(false);
  });

  it('points the TLS settings at the mounted Secret', () => {
    const { config } = load(agentSettings, 'agent', {
      set: { 'tls.enabled': true, 'tls.autoGenerate': true },
    });
    expect(config).toMatchObject({
      tlsCa: '/etc/vigil/tls/ca.crt',
      tlsCert: '/etc/vigil/tls/tls.crt',
      tlsKey: '/etc/vigil/tls/tls.key',
    });
  });

  it('stops within the pod grace period', () => {
    const { config } = load(agentSettings, 'agent');
    const ds = find(render(), 'DaemonSet', agentName);
    expect(config['shutdownGraceSeconds'] as number).toBeLessThan(
      ds.spec.template.spec.terminationGracePeriodSeconds,
    );
  });
});

describe('the aggregator reads what the chart gives it', () => {
  it('loads the rendered env and config file and listens on every interface', () => {
    const { config } = load(aggregatorSettings, 'aggregator');
    expect(config).toMatchObject({
      grpcHost: '0.0.0.0',
      grpcPort: 7400,
      httpPort: 9100,
      stateDir: '/var/lib/vigil',
      logLevel: 'info',
    });
  });

  it('sets no VIGIL_* variable the aggregator does not read', () => {
    const { env } = load(aggregatorSettings, 'aggregator');
    const known = envOf(aggregatorSettings);
    expect(
      Object.keys(env).filter((k) => k.startsWith('VIGIL_') && k !== 'VIGIL_CONFIG' && !known.has(k)),
    ).toEqual([]);
  });

  it('passes file keys the chart does not manage through the config section', () => {
    const { config } = load(aggregatorSettings, 'aggregator', {
      set: { 'config.aggregator.retainSummaries': 720 },
      setString: { 'config.aggregator.maxBatchBytes': '8Mi' },
    });
    expect(config['retainSummaries']).toBe(720);
    expect(config['maxBatchBytes']).toBe(8 * 1024 * 1024);
  });
});

describe('config keys the chart sets through env vars', () => {
  const schema = JSON.parse(readFileSync(join(repoRoot, 'charts', 'vigil', 'values.schema.json'), 'utf8'));
  const refused = (section: string) =>
    Object.entries(schema.properties.config.properties[section].properties as Record<string, unknown>)
      .filter(([, rule]) => rule === false)
      .map(([key]) => key)
      .sort();
  // A file key is managed when the chart always sets its env var (the TLS ones only with tls.enabled).
  const managed = (settings: Settings, env: Record<string, string>) =>
    Object.entries(settings)
      .filter(([, s]) => env[s.env] !== undefined)
      .map(([key]) => key)
      .sort();

  it('are exactly the ones the schema refuses in config.agent and config.aggregator', () => {
    expect(refused('agent')).toEqual(managed(agentSettings, load(agentSettings, 'agent').env));
    expect(refused('aggregator')).toEqual(
      managed(aggregatorSettings, load(aggregatorSettings, 'aggregator').env),
    );
  });

  it('are refused with the key path, since the env var would silently win', () => {
    const result = templateRaw({ set: { 'config.agent.windowSeconds': 5 } });
    expect(result.status).not.toBe(0);
    expect(result.stderr).toMatch(/\/config\/agent\/windowSeconds/);
  });
});

describe('the commands the chart runs', () => {
  for (const command of ['agent', 'aggregator']) {
    it(`exist in the CLI: node cli/main.ts ${command} --help`, () => {
      const run = spawnSync(process.execPath, ['cli/main.ts', command, '--help'], {
        cwd: repoRoot,
        encoding: 'utf8',
      });
      expect(run.status, run.stderr).toBe(0);
      expect(run.stdout).toContain(`Usage: vigil ${command}`);
    });
  }
});
