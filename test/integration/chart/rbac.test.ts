import { describe, expect, it } from 'vitest';
import { agentName, aggregatorName, find, type Manifest, namespace, render } from './helm.ts';
import { allows, grants, type PolicyRule } from './rbac.ts';

function rules(manifests: Manifest[], name: string): PolicyRule[] {
  return find(manifests, 'ClusterRole', name).rules as PolicyRule[];
}

const readVerbs = ['get', 'list', 'watch'];
const writeVerbs = ['create', 'update', 'patch', 'delete', 'deletecollection'];

describe('agent RBAC', () => {
  const manifests = render();
  const agent = rules(manifests, agentName);

  it('grants exactly: read pods, get nodes, write events and node status, patch nodes', () => {
    expect(grants(agent)).toEqual(
      [
        'core/events:create',
        'core/events:patch',
        'events.k8s.io/events:create',
        'events.k8s.io/events:patch',
        'core/nodes/status:patch',
        'core/nodes:get',
        'core/nodes:patch',
        'core/pods:get',
        'core/pods:list',
        'core/pods:watch',
      ].sort(),
    );
  });

  it('cannot read or write Secrets or ConfigMaps', () => {
    for (const verb of [...readVerbs, ...writeVerbs]) {
      expect(allows(agent, verb, '', 'secrets')).toBe(false);
      expect(allows(agent, verb, '', 'configmaps')).toBe(false);
    }
  });

  it('can list pods (narrowed to its node by a field selector) but never change them', () => {
    expect(allows(agent, 'list', '', 'pods')).toBe(true);
    for (const verb of writeVerbs) expect(allows(agent, verb, '', 'pods')).toBe(false);
    expect(allows(agent, 'create', '', 'pods/exec')).toBe(false);
    expect(allows(agent, 'create', '', 'pods/eviction')).toBe(false);
  });

  it('uses no wildcards', () => {
    for (const rule of agent) {
      expect([...(rule.verbs ?? []), ...(rule.resources ?? []), ...(rule.apiGroups ?? [])]).not.toContain(
        '*',
      );
    }
  });

  it('loses patch on nodes (cordon/taint) when agent.rbac.nodeWrite is false, keeping node conditions', () => {
    const without = rules(render({ set: { 'agent.rbac.nodeWrite': false } }), agentName);
    expect(allows(without, 'patch', '', 'nodes')).toBe(false);
    expect(allows(without, 'patch', '', 'nodes/status')).toBe(true);
  });

  it('binds the role to the ServiceAccount the DaemonSet runs as', () => {
    const binding = find(manifests, 'ClusterRoleBinding', agentName);
    const ds = find(manifests, 'DaemonSet', agentName);
    expect(binding.roleRef).toEqual({
      apiGroup: 'rbac.authorization.k8s.io',
      kind: 'ClusterRole',
      name: agentName,
    });
    expect(binding.subjects).toEqual([
      { kind: 'ServiceAccount', name: ds.spec.template.spec.serviceAccountName, namespace },
    ]);
    expect(find(manifests, 'ServiceAccount', agentName).metadata.namespace).toBe(namespace);
  });
});

describe('aggregator RBAC', () => {
  const manifests = render();
  const aggregator = rules(manifests, aggregatorName);
  const remediation: Array<[string, string, string]> = [
    ['delete', '', 'pods'],
    ['patch', '', 'pods'],
    ['create', '', 'pods/eviction'],
    ['patch', 'apps', 'deployments'],
    ['update', 'apps', 'deployments/scale'],
    ['patch', '', 'nodes'],
    ['create', 'networking.k8s.io', 'networkpolicies'],
    ['delete', 'networking.k8s.io', 'networkpolicies'],
  ];

  it('reads the topology it correlates over', () => {
    for (const resource of ['nodes', 'pods', 'services', 'endpoints', 'events', 'namespaces'])
      for (const verb of readVerbs) expect(allows(aggregator, verb, '', resource)).toBe(true);
    for (const resource of ['deployments', 'replicasets', 'daemonsets', 'statefulsets'])
      for (const verb of readVerbs) expect(allows(aggregator, verb, 'apps', resource)).toBe(true);
  });

  it('holds the remediation verbs by default', () => {
    for (const [verb, group, resource] of remediation)
      expect(allows(aggregator, verb, group, resource)).toBe(true);
  });

  it('loses every remediation verb when aggregator.remediation.enabled is false, and keeps reading', () => {
    const readOnly = rules(render({ set: { 'aggregator.remediation.enabled': false } }), aggregatorName);
    for (const [verb, group, resource] of remediation)
      expect(allows(readOnly, verb, group, resource)).toBe(false);
    for (const grant of grants(readOnly)) expect(grant).toMatch(/:(get|list|watch)$/);
    expect(allows(readOnly, 'watch', '', 'pods')).toBe(true);
  });

  it('cannot touch Secrets, ConfigMaps, RBAC or workloads beyond Deployments', () => {
    for (const verb of [...readVerbs, ...writeVerbs]) {
      expect(allows(aggregator, verb, '', 'secrets')).toBe(false);
      expect(allows(aggregator, verb, '', 'configmaps')).toBe(false);
      expect(allows(aggregator, verb, 'rbac.authorization.k8s.io', 'clusterrolebindings')).toBe(false);
    }
    for (const verb of writeVerbs) {
      expect(allows(aggregator, verb, 'apps', 'daemonsets')).toBe(false);
      expect(allows(aggregator, verb, 'apps', 'statefulsets')).toBe(false);
      expect(allows(aggregator, verb, '', 'namespaces')).toBe(false);
    }
    expect(allows(aggregator, 'create', '', 'pods')).toBe(false);
    expect(allows(aggregator, 'create', '', 'pods/exec')).toBe(false);
    expect(allows(aggregator, 'delete', 'apps', 'deployments')).toBe(false);
  });

  it('renders no RBAC at all when both rbac.create values are false', () => {
    const none = render({ set: { 'agent.rbac.create': false, 'aggregator.rbac.create': false } });
    expect(none.filter((m) => m.kind === 'ClusterRole' || m.kind === 'ClusterRoleBinding')).toEqual([]);
  });
});
