// The topology of an aggregator with no Kubernetes API: it knows no pods or services, so incidents group by
// the subjects and evidence the signals carry themselves.
import type { ChangeEvent, NodeInfo, PodInfo, ServiceInfo, Topology, WorkloadRevision } from './topology.ts';

export class EmptyTopology implements Topology {
  private readonly changeLog: ChangeEvent[] = [];

  nodes(): NodeInfo[] {
    return [];
  }
  node(): NodeInfo | undefined {
    return undefined;
  }
  pod(): PodInfo | undefined {
    return undefined;
  }
  pods(): PodInfo[] {
    return [];
  }
  podsOnNode(): PodInfo[] {
    return [];
  }
  podsOfWorkload(): PodInfo[] {
    return [];
  }
  services(): ServiceInfo[] {
    return [];
  }
  servicesForPod(): ServiceInfo[] {
    return [];
  }
  podsForService(): PodInfo[] {
    return [];
  }
  serviceByHost(): ServiceInfo | undefined {
    return undefined;
  }
  revisions(): WorkloadRevision[] {
    return [];
  }
  changes(sinceMs: number): ChangeEvent[] {
    return this.changeLog.filter((c) => c.timeMs >= sinceMs);
  }
  record(change: ChangeEvent): void {
    this.changeLog.push(change);
    if (this.changeLog.length > 2000) this.changeLog.shift();
  }
}
