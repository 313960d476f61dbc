import { describe, expect, it } from 'vitest';
import { type Manifest, namespace, render } from './helm.ts';

const clusterScoped = new Set(['ClusterRole', 'ClusterRoleBinding']);
const dns1123 = /^[a-z0-9]([-a-z0-9]*[a-z0-9])?$/;

function names(manifests: Manifest[]): string[] {
  return manifests.map((m) => `${m.kind}/${m.metadata.name}`).sort();
}

describe('resource names and labels', () => {
  it('drops the chart name from the prefix when the release is called vigil', () => {
    expect(names(render({}, 'vigil'))).toEqual(
      [
        'ClusterRole/vigil-agent',
        'ClusterRole/vigil-aggregator',
        'ClusterRoleBinding/vigil-agent',
        'ClusterRoleBinding/vigil-aggregator',
        'ConfigMap/vigil-config',
        'DaemonSet/vigil-agent',
        'Deployment/vigil-aggregator',
        'Pod/vigil-test-aggregator-ready',
        'Service/vigil-aggregator',
        'ServiceAccount/vigil-agent',
        'ServiceAccount/vigil-aggregator',
      ].sort(),
    );
  });

  it('keeps every name a DNS label of at most 63 characters for a long release name', () => {
    const manifests = render({ set: { 'aggregator.persistence.enabled': true } }, `r${'x'.repeat(52)}`);
    for (const m of manifests) {
      expect(m.metadata.name.length, m.metadata.name).toBeLessThanOrEqual(63);
      expect(m.metadata.name).toMatch(dns1123);
    }
    // Truncation must not make the agent and aggregator objects collide.
    expect(new Set(names(manifests)).size).toBe(manifests.length);
  });

  it('puts every namespaced object in the release namespace with the standard labels', () => {
    const manifests = render({
      set: {
        'metrics.serviceMonitor.enabled': true,
        'networkPolicy.enabled': true,
        'commonLabels.team': 'sre',
      },
    });
    for (const m of manifests) {
      if (!clusterScoped.has(m.kind))
        expect(m.metadata.namespace, `${m.kind}/${m.metadata.name}`).toBe(namespace);
      expect(m.metadata.labels).toMatchObject({
        'app.kubernetes.io/name': 'vigil',
        'app.kubernetes.io/instance': 'obs',
        'app.kubernetes.io/managed-by': 'Helm',
        team: 'sre',
      });
    }
  });

  it('honours fullnameOverride', () => {
    const manifests = render({ setString: { fullnameOverride: 'ops' } });
    expect(names(manifests)).toContain('DaemonSet/ops-agent');
    expect(names(manifests)).toContain('Service/ops-aggregator');
  });
});
