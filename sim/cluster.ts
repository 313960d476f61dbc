// Bootstraps the objects a fresh cluster has: system namespaces and one Node object per node model.
import { resourceByKind } from './api/resources.ts';
import type { Store } from './api/store.ts';
import type { Node } from './api/types.ts';
import { isoTime } from './clock.ts';
import type { NodeModel } from './node/model.ts';

export const SYSTEM_NAMESPACES = ['default', 'kube-system', 'kube-public', 'kube-node-lease'];

export function bootstrapCluster(
  store: Store,
  nodes: readonly NodeModel[],
  namespaces: readonly string[],
  wallMs: number,
): void {
  const ns = resourceByKind('Namespace');
  for (const name of [...SYSTEM_NAMESPACES, ...namespaces]) {
    if (store.tryGet(ns, undefined, name)) continue;
    store.create(ns, {
      apiVersion: 'v1',
      kind: 'Namespace',
      metadata: { name, labels: { 'kubernetes.io/metadata.name': name } },
      spec: { finalizers: ['kubernetes'] },
      status: { phase: 'Active' },
    });
  }
  const nodeType = resourceByKind('Node');
  for (const n of nodes) {
    const labels: Record<string, string> = {
      'beta.kubernetes.io/arch': 'amd64',
      'beta.kubernetes.io/os': 'linux',
      'kubernetes.io/arch': 'amd64',
      'kubernetes.io/hostname': n.name,
      'kubernetes.io/os': 'linux',
      ...n.labels,
    };
    if (n.role === 'control-plane') labels['node-role.kubernetes.io/control-plane'] = '';
    const allocatableMemKi = Math.floor((n.memoryBytes * 0.95) / 1024);
    const node: Node = {
      apiVersion: 'v1',
      kind: 'Node',
      metadata: { name: n.name, labels, annotations: { 'node.alpha.kubernetes.io/ttl': '0' } },
      spec: { podCIDR: `10.244.${n.index}.0/24`, podCIDRs: [`10.244.${n.index}.0/24`] },
      status: {
        capacity: {
          cpu: String(n.cpus),
          memory: `${Math.floor(n.memoryBytes / 1024)}Ki`,
          'ephemeral-storage': `${Math.floor(n.diskBytes / 1024)}Ki`,
          pods: '110',
        },
        allocatable: {
          cpu: String(n.cpus),
          memory: `${allocatableMemKi}Ki`,
          'ephemeral-storage': `${Math.floor((n.diskBytes * 0.9) / 1024)}Ki`,
          pods: '110',
        },
        addresses: [
          { type: 'InternalIP', address: n.ip },
          { type: 'Hostname', address: n.name },
        ],
        conditions: [
          {
            type: 'Ready',
            status: 'True',
            reason: 'KubeletReady',
            message: 'kubelet is posting ready status',
            lastHeartbeatTime: isoTime(wallMs),
            lastTransitionTime: isoTime(wallMs),
          },
        ],
        nodeInfo: {
          machineID: `${n.index}`.padStart(32, '0'),
          systemUUID: `${n.index}`.padStart(32, '0'),
          bootID: `${n.index}`.padStart(32, 'b'),
          kernelVersion: '6.8.0-45-generic',
          osImage: 'Ubuntu 24.04.1 LTS',
          containerRuntimeVersion: 'containerd://2.1.4',
          kubeletVersion: 'v1.35.0',
          kubeProxyVersion: 'v1.35.0',
          operatingSystem: 'linux',
          architecture: 'amd64',
        },
      },
    };
    if (n.role === 'control-plane')
      node.spec.taints = [{ key: 'node-role.kubernetes.io/control-plane', effect: 'NoSchedule' }];
    store.create(nodeType, node);
  }
}
