// The cluster as the correlator sees it: pods, their nodes, services and workloads, rollout history and
// recent changes. Built from Kubernetes list+watch informers (aggregator/state/kube-topology.ts); the
// correlator and the remediation planner read it only through this interface.

export interface PodInfo {
  namespace: string;
  name: string;
  uid: string;
  node: string;
  labels: Record<string, string>;
  /** Owning workload as `Kind/namespace/name` (Deployment through its ReplicaSet, StatefulSet, DaemonSet). */
  workload?: string;
  /** The ReplicaSet / controller revision the pod belongs to, when known. */
  revision?: number;
  phase: string;
  ready: boolean;
  restarts: number;
  images: string[];
  containers: string[];
  /** When the pod object was created (a replacement's arrival on its node), when known. */
  createdMs?: number;
}

export interface ServiceInfo {
  namespace: string;
  name: string;
  selector: Record<string, string>;
  ports: number[];
}

export interface NodeInfo {
  name: string;
  ready: boolean;
  unschedulable: boolean;
  labels: Record<string, string>;
  conditions: Record<string, string>;
}

export interface WorkloadRevision {
  /** `Deployment/namespace/name`. */
  workload: string;
  revision: number;
  images: string[];
  /** When this revision's ReplicaSet was created. */
  createdMs: number;
}

/** Something that changed the cluster: first-class root-cause candidates. */
export interface ChangeEvent {
  kind: 'rollout' | 'scale' | 'config' | 'deploy-marker' | 'node';
  /** `Deployment/ns/name`, `ConfigMap/ns/name`, `Node//name`… */
  object: string;
  timeMs: number;
  description: string;
}

export interface Topology {
  nodes(): NodeInfo[];
  node(name: string): NodeInfo | undefined;
  pod(namespace: string, name: string): PodInfo | undefined;
  /** Every pod, scheduled or not. */
  pods(): PodInfo[];
  podsOnNode(node: string): PodInfo[];
  /** Every pod a workload (`Deployment/ns/name`, `StatefulSet/…`, `DaemonSet/…`, `ReplicaSet/…`) owns, scheduled or not. */
  podsOfWorkload(workload: string): PodInfo[];
  services(): ServiceInfo[];
  servicesForPod(namespace: string, name: string): ServiceInfo[];
  podsForService(namespace: string, name: string): PodInfo[];
  /** Resolves a host as a client would name it: `db`, `db.shop`, `db.shop.svc`, `db.shop.svc.cluster.local`. */
  serviceByHost(host: string, fromNamespace: string): ServiceInfo | undefined;
  /** Rollout history of a workload, oldest first. */
  revisions(workload: string): WorkloadRevision[];
  /** Changes at or after `sinceMs`, oldest first. */
  changes(sinceMs: number): ChangeEvent[];
}
