import { describe, expect, it } from 'vitest';
import { parse } from 'yaml';
import { agentName, aggregatorName, find, lint, type Manifest, render, templateRaw } from './helm.ts';

function checksums(manifests: Manifest[]) {
  return {
    agent: find(manifests, 'DaemonSet', agentName).spec.template.metadata.annotations[
      'checksum/config'
    ] as string,
    aggregator: find(manifests, 'Deployment', aggregatorName).spec.template.metadata.annotations[
      'checksum/config'
    ] as string,
  };
}

describe('configuration', () => {
  it('renders .Values.config into the ConfigMap both pods mount', () => {
    const manifests = render({ set: { 'config.aggregator.retainSummaries': 720 } });
    const configMap = find(manifests, 'ConfigMap', 'obs-vigil-config');
    expect(parse(configMap.data['config.yaml'])).toEqual({ agent: {}, aggregator: { retainSummaries: 720 } });
    for (const pod of [
      find(manifests, 'DaemonSet', agentName),
      find(manifests, 'Deployment', aggregatorName),
    ]) {
      const volume = pod.spec.template.spec.volumes.find((v: { name: string }) => v.name === 'config');
      expect(volume.configMap.name).toBe('obs-vigil-config');
    }
  });

  it('changes the pods checksum annotation when, and only when, the config changes', () => {
    const base = checksums(render());
    const again = checksums(render({ set: { 'agent.windowSeconds': 10 } }));
    const changed = checksums(render({ set: { 'config.agent.shutdownGraceSeconds': 10 } }));
    expect(base.agent).toMatch(/^[0-9a-f]{64}$/);
    expect(base.agent).toBe(base.aggregator);
    expect(again).toEqual(base);
    expect(changed.agent).not.toBe(base.agent);
    expect(changed.aggregator).not.toBe(base.aggregator);
  });
});

describe('helm lint', () => {
  it('passes in strict mode with default values', () => {
    const result = lint();
    expect(result.stderr + result.stdout).toContain('0 chart(s) failed');
    expect(result.status).toBe(0);
  });

  it('passes with every optional feature switched on and remediation off', () => {
    const result = lint({
      set: {
        'tls.enabled': true,
        'aggregator.persistence.enabled': true,
        'aggregator.remediation.enabled': false,
        'metrics.serviceMonitor.enabled': true,
        'networkPolicy.enabled': true,
      },
      setString: { 'tls.agentSecretName': 'a', 'tls.aggregatorSecretName': 'b' },
    });
    expect(result.status, result.stdout + result.stderr).toBe(0);
  });
});

describe('values.schema.json', () => {
  // Each bad value must fail rendering with a message that names the offending key.
  const rejected: Array<[string, Parameters<typeof templateRaw>[0], RegExp]> = [
    ['an unknown log level', { setString: { logLevel: 'loud' } }, /\/logLevel.*one of/],
    ['a misspelt key', { set: { 'agent.windowSecond': 5 } }, /\/agent.*windowSecond.*not allowed/],
    ['a zero-second window', { set: { 'agent.windowSeconds': 0 } }, /\/agent\/windowSeconds/],
    ['a port out of range', { set: { 'aggregator.grpcPort': 70000 } }, /\/aggregator\/grpcPort/],
    [
      'a memory limit that is not a quantity',
      { setString: { 'agent.resources.limits.memory': 'lots' } },
      /\/agent\/resources\/limits\/memory/,
    ],
    ['a relative host path', { setString: { 'agent.hostPaths.proc': 'proc' } }, /\/agent\/hostPaths\/proc/],
    [
      'the host root as the writable state dir',
      { setString: { 'agent.stateHostPath': '/' } },
      /\/agent\/stateHostPath/,
    ],
    [
      'a string where a boolean belongs',
      { setString: { 'aggregator.remediation.enabled': 'yes' } },
      /\/aggregator\/remediation\/enabled/,
    ],
    ['TLS without its Secrets', { set: { 'tls.enabled': true } }, /\/tls\/agentSecretName/],
  ];

  for (const [what, overrides, message] of rejected) {
    it(`rejects ${what} with the key's path in the message`, () => {
      const result = templateRaw(overrides);
      expect(result.status).not.toBe(0);
      expect(result.stderr).toContain("values don't meet the specifications of the schema");
      expect(result.stderr).toMatch(message);
    });
  }

  it('makes helm lint fail on a bad value too', () => {
    const result = lint({ setString: { logLevel: 'loud' } });
    expect(result.status).not.toBe(0);
    expect(result.stdout + result.stderr).toMatch(/logLevel/);
  });
});
