import { describe, expect, it } from 'vitest';
import { render } from './helm.ts';
import { validateManifest } from './k8s-schema.ts';

describe('rendered manifests against the Kubernetes API types', () => {
  const variants = {
    defaults: {},
    'every option on': {
      set: {
        'tls.enabled': true,
        'aggregator.persistence.enabled': true,
        'metrics.serviceMonitor.enabled': true,
        'networkPolicy.enabled': true,
        'agent.extraEnv[0].name': 'EXTRA',
        'agent.extraEnv[0].value': 'x',
      },
      setString: { 'tls.agentSecretName': 'a', 'tls.aggregatorSecretName': 'b' },
    },
    'Kubernetes 1.29 (AppArmor annotation)': { kubeVersion: '1.29.0' },
    'chart-generated TLS': { set: { 'tls.enabled': true, 'tls.autoGenerate': true } },
    'remediation and tests off': { set: { 'aggregator.remediation.enabled': false, 'tests.enabled': false } },
  };

  for (const [name, overrides] of Object.entries(variants)) {
    it(`has no unknown fields and no wrong JSON types (${name})`, () => {
      const problems: string[] = [];
      let validated = 0;
      for (const manifest of render(overrides)) {
        const errors = validateManifest(manifest);
        if (errors === undefined) {
          expect(manifest.kind).toBe('ServiceMonitor');
          continue;
        }
        validated++;
        problems.push(...errors);
      }
      expect(problems).toEqual([]);
      expect(validated).toBeGreaterThanOrEqual(10);
    });
  }

  it('reports a misplaced field and a number where the API wants a string', () => {
    const errors = validateManifest({
      apiVersion: 'apps/v1',
      kind: 'DaemonSet',
      metadata: { name: 'x' },
      spec: {
        template: {
          spec: { containers: [{ name: 'a', readOnly: true, env: [{ name: 'PORT', value: 9100 }] }] },
        },
      },
    } as never);
    expect(errors).toEqual([
      'DaemonSet.spec.template.spec.containers[0].readOnly: unknown field in V1Container',
      'DaemonSet.spec.template.spec.containers[0].env[0].value: expected string, got number',
    ]);
  });
});
