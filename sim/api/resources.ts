// The resource types the simulator serves, with the discovery facts kubectl and client-node rely on
// (kind, namespaced, shortNames, verbs, subresources with their own group/version/kind).

export interface Subresource {
  name: string;
  kind: string;
  verbs: string[];
  /** Set when the subresource's kind lives in another group, e.g. pods/eviction → policy/v1 Eviction. */
  group?: string;
  version?: string;
}

export interface ResourceType {
  group: string;
  version: string;
  plural: string;
  singular: string;
  kind: string;
  namespaced: boolean;
  shortNames: string[];
  categories: string[];
  verbs: string[];
  subresources: Subresource[];
  /** Spec changes bump metadata.generation (workloads). */
  hasGeneration: boolean;
}

const ALL_VERBS = ['create', 'delete', 'deletecollection', 'get', 'list', 'patch', 'update', 'watch'];
const STATUS_VERBS = ['get', 'patch', 'update'];

function rt(
  group: string,
  version: string,
  plural: string,
  kind: string,
  opts: Partial<
    Pick<ResourceType, 'namespaced' | 'shortNames' | 'categories' | 'subresources' | 'hasGeneration'>
  >,
): ResourceType {
  return {
    group,
    version,
    plural,
    singular: kind.toLowerCase(),
    kind,
    namespaced: opts.namespaced ?? true,
    shortNames: opts.shortNames ?? [],
    categories: opts.categories ?? [],
    verbs: ALL_VERBS,
    subresources: opts.subresources ?? [],
    hasGeneration: opts.hasGeneration ?? false,
  };
}

const status = (kind: string): Subresource => ({ name: 'status', kind, verbs: STATUS_VERBS });
const scale: Subresource = {
  name: 'scale',
  kind: 'Scale',
  group: 'autoscaling',
  version: 'v1',
  verbs: STATUS_VERBS,
};

export const RESOURCE_TYPES: readonly ResourceType[] = [
  rt('', 'v1', 'namespaces', 'Namespace', {
    namespaced: false,
    shortNames: ['ns'],
    subresources: [status('Namespace')],
  }),
  rt('', 'v1', 'nodes', 'Node', { namespaced: false, shortNames: ['no'], subresources: [status('Node')] }),
  rt('', 'v1', 'pods', 'Pod', {
    shortNames: ['po'],
    categories: ['all'],
    subresources: [
      status('Pod'),
      { name: 'eviction', kind: 'Eviction', group: 'policy', version: 'v1', verbs: ['create'] },
      { name: 'log', kind: 'Pod', verbs: ['get'] },
      { name: 'exec', kind: 'PodExecOptions', verbs: ['create', 'get'] },
      { name: 'binding', kind: 'Binding', verbs: ['create'] },
    ],
  }),
  rt('', 'v1', 'services', 'Service', {
    shortNames: ['svc'],
    categories: ['all'],
    subresources: [status('Service')],
  }),
  rt('', 'v1', 'endpoints', 'Endpoints', { shortNames: ['ep'] }),
  rt('', 'v1', 'events', 'Event', { shortNames: ['ev'] }),
  rt('', 'v1', 'configmaps', 'ConfigMap', { shortNames: ['cm'] }),
  rt('apps', 'v1', 'deployments', 'Deployment', {
    shortNames: ['deploy'],
    categories: ['all'],
    subresources: [status('Deployment'), scale],
    hasGeneration: true,
  }),
  rt('apps', 'v1', 'replicasets', 'ReplicaSet', {
    shortNames: ['rs'],
    categories: ['all'],
    subresources: [status('ReplicaSet'), scale],
    hasGeneration: true,
  }),
  rt('apps', 'v1', 'daemonsets', 'DaemonSet', {
    shortNames: ['ds'],
    categories: ['all'],
    subresources: [status('DaemonSet')],
    hasGeneration: true,
  }),
  rt('apps', 'v1', 'statefulsets', 'StatefulSet', {
    shortNames: ['sts'],
    categories: ['all'],
    subresources: [status('StatefulSet'), scale],
    hasGeneration: true,
  }),
  rt('networking.k8s.io', 'v1', 'networkpolicies', 'NetworkPolicy', { shortNames: ['netpol'] }),
  rt('coordination.k8s.io', 'v1', 'leases', 'Lease', {}),
  rt('policy', 'v1', 'poddisruptionbudgets', 'PodDisruptionBudget', {
    shortNames: ['pdb'],
    subresources: [status('PodDisruptionBudget')],
  }),
];

export function groupVersion(t: Pick<ResourceType, 'group' | 'version'>): string {
  return t.group ? `${t.group}/${t.version}` : t.version;
}

/** `deployments.apps` as the server names a resource in messages; core resources stay bare. */
export function qualifiedName(t: ResourceType): string {
  return t.group ? `${t.plural}.${t.group}` : t.plural;
}

export function findResource(group: string, version: string, plural: string): ResourceType | undefined {
  return RESOURCE_TYPES.find((t) => t.group === group && t.version === version && t.plural === plural);
}

export function resourceByKind(kind: string): ResourceType {
  const found = RESOURCE_TYPES.find((t) => t.kind === kind);
  if (!found) throw new Error(`the simulator serves no resource of kind ${kind}`);
  return found;
}

export function groupVersions(): Array<{ group: string; versions: string[] }> {
  const groups = new Map<string, Set<string>>();
  for (const t of RESOURCE_TYPES) {
    if (!groups.has(t.group)) groups.set(t.group, new Set());
    groups.get(t.group)?.add(t.version);
  }
  return [...groups].map(([group, versions]) => ({ group, versions: [...versions] }));
}
