// Where an action lands, from the root cause's object: a pod action needs a pod, a deployment action the
// pod's Deployment, a node action the node (a pod's node for pod-level causes), an agent command a node.
import type { Incident, RootCauseCandidate } from '../correlate/incident.ts';
import type { Topology } from '../state/topology.ts';
import type { ActionTarget, ActionType } from './action.ts';

export function parseObject(object: string): { kind: string; namespace: string; name: string } {
  const [kind = '', namespace = '', ...rest] = object.split('/');
  return { kind, namespace, name: rest.join('/') };
}

const MAX_AGENT_TARGETS = 5;

export function resolveTargets(
  type: ActionType,
  cause: RootCauseCandidate,
  incident: Incident,
  topology: Topology,
): ActionTarget[] {
  const o = parseObject(cause.object);
  const pod = o.kind === 'Pod' ? topology.pod(o.namespace, o.name) : undefined;
  const podTarget = (): ActionTarget[] =>
    o.kind === 'Pod'
      ? [
          {
            object: cause.object,
            namespace: o.namespace,
            name: o.name,
            ...(pod?.node ? { node: pod.node } : {}),
          },
        ]
      : [];
  const nodeTarget = (node: string): ActionTarget => ({ object: `Node//${node}`, name: node, node });
  if (type.startsWith('pod.')) return podTarget();
  if (type.startsWith('deployment.')) {
    const workload = o.kind === 'Deployment' ? cause.object : pod?.workload;
    if (!workload?.startsWith('Deployment/')) return [];
    const w = parseObject(workload);
    return [{ object: workload, namespace: w.namespace, name: w.name }];
  }
  if (type.startsWith('node.')) {
    if (o.kind === 'Node') return [nodeTarget(o.name)];
    return pod?.node ? [nodeTarget(pod.node)] : [];
  }
  // agent.*
  if (type === 'agent.container_restart') {
    if (!pod) return [];
    return [
      {
        object: cause.object,
        namespace: o.namespace,
        name: o.name,
        node: pod.node,
        container: pod.containers[0] ?? '',
      },
    ];
  }
  if (o.kind === 'Node') return [nodeTarget(o.name)];
  if (pod) return [nodeTarget(pod.node)];
  return incident.nodes.slice(0, MAX_AGENT_TARGETS).map(nodeTarget);
}
