// Simulated kubelets, one per node model: run the pods bound to the node through the container
// lifecycle (pull, create, start, ready, crash, OOMKilled with exit 137, CrashLoopBackOff back-off),
// report pod status and node conditions, renew the node lease, evict under disk pressure, and emit
// the Events a real kubelet emits for all of it.
import { resourceByKind } from '../api/resources.ts';
import type { Store } from '../api/store.ts';
import type { Condition, ContainerStatus, Node, Pod, PodStatus } from '../api/types.ts';
import { isoNanos, isoTime, type SimClock } from '../clock.ts';
import type { NodeModel } from '../node/model.ts';
import type { Random } from '../random.ts';
import type { BehaviourSource } from './behaviour.ts';
import type { EventRecorder } from './events.ts';
import { type ContainerRuntime, type PodRuntime, parseQuantity, type RuntimeRegistry } from './runtime.ts';

const POD = resourceByKind('Pod');
const NODE = resourceByKind('Node');
const LEASE = resourceByKind('Lease');

const BACKOFF_BASE_MS = 10_000;
const BACKOFF_MAX_MS = 300_000;
const BACKOFF_RESET_MS = 600_000;
const LEASE_RENEW_MS = 10_000;
const NODE_STATUS_REFRESH_MS = 60_000;
const DISK_PRESSURE_RATIO = 0.9;
const MEMORY_PRESSURE_RATIO = 0.95;
const EVICTION_INTERVAL_MS = 10_000;

export interface KubeletDeps {
  store: Store;
  clock: SimClock;
  random: Random;
  events: EventRecorder;
  runtimes: RuntimeRegistry;
  behaviours: BehaviourSource;
  /** Called when a container terminates, so the scenario engine can log the crash and count OOMs. */
  onTermination?: (pod: PodRuntime, container: ContainerRuntime, reason: string) => void;
}

export class Kubelet {
  private readonly deps: KubeletDeps;
  readonly model: NodeModel;
  private lastLeaseSimMs = -Infinity;
  private lastNodeStatusSimMs = -Infinity;
  private lastTickSimMs: number;
  private lastEvictionSimMs = -Infinity;
  private nextPodIp = 2;
  private readonly pulled = new Set<string>();

  constructor(model: NodeModel, deps: KubeletDeps) {
    this.model = model;
    this.deps = deps;
    this.lastTickSimMs = deps.clock.elapsedMs();
  }

  private get source() {
    return { component: 'kubelet', host: this.model.name };
  }

  tick(): void {
    const now = this.deps.clock.elapsedMs();
    const dt = Math.max(0, now - this.lastTickSimMs);
    this.lastTickSimMs = now;
    if (this.model.kubeletStopped) return;
    this.heartbeat(now);
    const pods = this.deps.store.peek<Pod>(POD, {
      fields: [{ field: 'spec.nodeName', negate: false, value: this.model.name }],
    });
    const seen = new Set<string>();
    for (const pod of pods) {
      const uid = pod.metadata.uid ?? '';
      seen.add(uid);
      if (pod.metadata.deletionTimestamp) {
        // Terminating pods (marked by the taint eviction) are finished off once the kubelet runs.
        this.deps.store.delete(POD, pod.metadata.namespace, pod.metadata.name);
        continue;
      }
      if (pod.status?.phase === 'Failed' || pod.status?.phase === 'Succeeded') continue;
      this.syncPod(pod, now, dt);
    }
    for (const rt of this.deps.runtimes.onNode(this.model.name)) {
      if (seen.has(rt.uid)) continue;
      // The pod was deleted: its containers are stopped, as the kubelet reports with `Killing`.
      const ref = {
        apiVersion: 'v1',
        kind: 'Pod',
        metadata: { name: rt.name, namespace: rt.namespace, uid: rt.uid },
      };
      for (const c of rt.containers) {
        if (c.phase !== 'running') continue;
        this.deps.events.record(ref, {
          type: 'Normal',
          reason: 'Killing',
          message: `Stopping container ${c.name}`,
          source: this.source,
          fieldPath: `spec.containers{${c.name}}`,
        });
      }
      this.deps.runtimes.remove(rt.uid);
    }
    this.evictUnderPressure(now);
  }

  private heartbeat(now: number): void {
    const wall = this.deps.clock.wallMs();
    if (now - this.lastLeaseSimMs >= LEASE_RENEW_MS) {
      this.lastLeaseSimMs = now;
      const lease = this.deps.store.tryGet(LEASE, 'kube-node-lease', this.model.name);
      const spec = {
        holderIdentity: this.model.name,
        leaseDurationSeconds: 40,
        renewTime: isoNanos(wall).replace(/000Z$/, 'Z'),
      };
      if (lease) this.deps.store.update(LEASE, { ...lease, spec });
      else {
        this.deps.store.create(LEASE, {
          apiVersion: 'coordination.k8s.io/v1',
          kind: 'Lease',
          metadata: { name: this.model.name, namespace: 'kube-node-lease' },
          spec,
        });
      }
    }
    const node = this.deps.store.tryGet<Node>(NODE, undefined, this.model.name);
    if (!node) return;
    const diskPressure = this.model.diskUsedBytes / this.model.diskBytes >= DISK_PRESSURE_RATIO;
    const memUsed = this.model.systemMemoryBytes + this.podMemory();
    const memoryPressure = memUsed / this.model.memoryBytes >= MEMORY_PRESSURE_RATIO;
    const wanted: Array<[string, boolean, string, string]> = [
      [
        'MemoryPressure',
        memoryPressure,
        memoryPressure ? 'KubeletHasInsufficientMemory' : 'KubeletHasSufficientMemory',
        memoryPressure
          ? 'kubelet has insufficient memory available'
          : 'kubelet has sufficient memory available',
      ],
      [
        'DiskPressure',
        diskPressure,
        diskPressure ? 'KubeletHasDiskPressure' : 'KubeletHasNoDiskPressure',
        diskPressure ? 'kubelet has disk pressure' : 'kubelet has no disk pressure',
      ],
      ['PIDPressure', false, 'KubeletHasSufficientPID', 'kubelet has sufficient PID available'],
      ['Ready', true, 'KubeletReady', 'kubelet is posting ready status'],
    ];
    const conditions = node.status?.conditions ?? [];
    let changed = false;
    const next: Condition[] = wanted.map(([type, on, reason, message]) => {
      const status = on ? 'True' : 'False';
      const old = conditions.find((c) => c.type === type);
      if (!old || old.status !== status || old.reason !== reason) {
        changed = true;
        if (old && type !== 'Ready') {
          this.deps.events.record(node, {
            type: on ? 'Warning' : 'Normal',
            reason: on
              ? `NodeHas${type}`
              : `NodeHasNo${type}`.replace('NodeHasNoMemoryPressure', 'NodeHasSufficientMemory'),
            message: `Node ${this.model.name} status is now: ${on ? `NodeHas${type}` : `NodeHasNo${type}`.replace('NodeHasNoMemoryPressure', 'NodeHasSufficientMemory')}`,
            source: this.source,
          });
        }
        if (old && type === 'Ready') {
          this.deps.events.record(node, {
            type: 'Normal',
            reason: 'NodeReady',
            message: `Node ${this.model.name} status is now: NodeReady`,
            source: this.source,
          });
        }
      }
      return {
        type,
        status,
        lastHeartbeatTime: isoTime(this.deps.clock.wallMs()),
        lastTransitionTime:
          old && old.status === status ? (old.lastTransitionTime ?? isoTime(wall)) : isoTime(wall),
        reason,
        message,
      };
    });
    const taints = (node.spec.taints ?? []).filter(
      (t) =>
        ![
          'node.kubernetes.io/disk-pressure',
          'node.kubernetes.io/memory-pressure',
          'node.kubernetes.io/unreachable',
          'node.kubernetes.io/not-ready',
        ].includes(t.key),
    );
    if (diskPressure)
      taints.push({
        key: 'node.kubernetes.io/disk-pressure',
        effect: 'NoSchedule',
        timeAdded: isoTime(wall),
      });
    if (memoryPressure)
      taints.push({
        key: 'node.kubernetes.io/memory-pressure',
        effect: 'NoSchedule',
        timeAdded: isoTime(wall),
      });
    const taintsChanged =
      JSON.stringify((node.spec.taints ?? []).map((t) => t.key)) !== JSON.stringify(taints.map((t) => t.key));
    if (!changed && !taintsChanged && now - this.lastNodeStatusSimMs < NODE_STATUS_REFRESH_MS) return;
    this.lastNodeStatusSimMs = now;
    if (taintsChanged) {
      if (taints.length) node.spec.taints = taints;
      else delete node.spec.taints;
      node.metadata.resourceVersion = '';
      this.deps.store.update(NODE, node, 'main');
    }
    const fresh = this.deps.store.get<Node>(NODE, undefined, this.model.name);
    fresh.status = { ...fresh.status, conditions: next };
    this.deps.store.update(NODE, fresh, 'status');
  }

  private podMemory(): number {
    let sum = 0;
    for (const p of this.deps.runtimes.onNode(this.model.name)) {
      for (const c of p.containers) if (c.phase === 'running') sum += c.memoryBytes;
    }
    return sum;
  }

  private newRuntime(pod: Pod): PodRuntime {
    const requests = pod.spec.containers.map((c) => c.resources ?? {});
    const hasLimits = requests.every((r) => r.limits?.memory && r.limits?.cpu);
    const hasAny = requests.some((r) => r.requests || r.limits);
    const rt: PodRuntime = {
      uid: pod.metadata.uid ?? '',
      namespace: pod.metadata.namespace ?? 'default',
      name: pod.metadata.name,
      node: this.model.name,
      ip: `10.244.${this.model.index}.${this.nextPodIp++ % 250}`,
      qosClass: hasLimits ? 'Guaranteed' : hasAny ? 'Burstable' : 'BestEffort',
      labels: { ...(pod.metadata.labels ?? {}) },
      containers: pod.spec.containers.map((c) => ({
        name: c.name,
        image: c.image,
        id: this.containerId(),
        restartCount: 0,
        phase: 'creating',
        startedSimMs: 0,
        startedWallMs: 0,
        nextStartSimMs: 0,
        consecutiveFailures: 0,
        memoryBytes: 0,
        leakedBytes: 0,
        limitBytes: parseQuantity(c.resources?.limits?.memory) ?? this.model.memoryBytes,
        cpuMillicores: 0,
        cpuUsageUsec: 0,
        oomKills: 0,
        everStarted: false,
        wasReady: false,
      })),
    };
    this.deps.runtimes.set(rt);
    return rt;
  }

  private containerId(): string {
    let s = '';
    for (let i = 0; i < 64; i++) s += Math.floor(this.deps.random.next() * 16).toString(16);
    return s;
  }

  private syncPod(pod: Pod, now: number, dt: number): void {
    let rt = this.deps.runtimes.get(pod.metadata.uid ?? '');
    const wall = this.deps.clock.wallMs();
    if (!rt) {
      rt = this.newRuntime(pod);
      for (const c of rt.containers) {
        const spec = pod.spec.containers.find((s) => s.name === c.name);
        if (!spec) continue;
        c.nextStartSimMs = now + this.deps.behaviours.behaviour(pod, spec, now).startDelayMs;
        this.containerEvent(pod, c, 'Normal', 'Pulling', `Pulling image "${c.image}"`);
      }
    }
    for (const c of rt.containers) {
      const spec = pod.spec.containers.find((s) => s.name === c.name);
      if (!spec) continue;
      const b = this.deps.behaviours.behaviour(pod, spec, now);
      c.image = spec.image;
      c.cpuMillicores = 0;
      if (c.phase === 'creating' || c.phase === 'backoff' || c.phase === 'pullError') {
        if (now < c.nextStartSimMs) continue;
        if (b.pullError) {
          if (c.phase !== 'pullError') {
            this.containerEvent(
              pod,
              c,
              'Warning',
              'Failed',
              `Failed to pull image "${c.image}": rpc error: code = NotFound desc = failed to pull and unpack image "${c.image}": failed to resolve reference "${c.image}": not found`,
            );
            this.containerEvent(pod, c, 'Warning', 'Failed', 'Error: ErrImagePull');
          }
          this.containerEvent(pod, c, 'Normal', 'BackOff', `Back-off pulling image "${c.image}"`);
          this.containerEvent(pod, c, 'Warning', 'Failed', 'Error: ImagePullBackOff');
          c.phase = 'pullError';
          c.nextStartSimMs = now + BACKOFF_BASE_MS;
          continue;
        }
        if (c.everStarted) c.restartCount++;
        if (c.everStarted && this.pulled.has(c.image)) {
          this.containerEvent(
            pod,
            c,
            'Normal',
            'Pulled',
            `Container image "${c.image}" already present on machine`,
          );
        } else {
          const secs = (0.5 + this.deps.random.next() * 2).toFixed(3);
          this.containerEvent(
            pod,
            c,
            'Normal',
            'Pulled',
            `Successfully pulled image "${c.image}" in ${secs}s (${secs}s including waiting). Image size: ${this.deps.random.int(20, 400) * 1048576} bytes.`,
          );
          this.pulled.add(c.image);
        }
        if (c.everStarted) c.id = this.containerId();
        this.containerEvent(pod, c, 'Normal', 'Created', `Created container: ${c.name}`);
        this.containerEvent(pod, c, 'Normal', 'Started', `Started container ${c.name}`);
        c.phase = 'running';
        c.everStarted = true;
        c.startedSimMs = now;
        c.startedWallMs = wall;
        c.leakedBytes = 0;
        c.wasReady = false;
      }
      if (c.phase !== 'running') continue;
      if (now - c.startedSimMs > BACKOFF_RESET_MS) c.consecutiveFailures = 0;
      c.leakedBytes += (b.memoryLeakBytesPerSec * dt) / 1000;
      const noise = this.deps.random.gaussian() * b.memoryNoiseBytes;
      c.memoryBytes = Math.max(4 * 2 ** 20, Math.round(b.memoryBaselineBytes + noise + c.leakedBytes));
      c.cpuMillicores = Math.max(1, b.cpuMillicores * (0.8 + this.deps.random.next() * 0.4));
      c.cpuUsageUsec += Math.round(c.cpuMillicores * dt);
      if (c.memoryBytes >= c.limitBytes) {
        c.memoryBytes = c.limitBytes;
        c.oomKills++;
        this.terminate(pod, rt, c, 137, 'OOMKilled', now, wall);
        this.deps.events.record(this.nodeRef(), {
          type: 'Warning',
          reason: 'SystemOOM',
          message: `System OOM encountered, victim process: ${c.name}, pid: ${this.deps.random.int(1000, 60000)}`,
          source: this.source,
        });
      } else if (b.crashAfterMs !== undefined && now - c.startedSimMs >= b.crashAfterMs) {
        this.terminate(pod, rt, c, b.exitCode ?? 1, 'Error', now, wall);
      }
    }
    this.writeStatus(pod, rt, now);
  }

  private nodeRef(): Node {
    return (
      this.deps.store.tryGet<Node>(NODE, undefined, this.model.name) ?? {
        apiVersion: 'v1',
        kind: 'Node',
        metadata: { name: this.model.name, uid: this.model.name },
        spec: {},
      }
    );
  }

  private terminate(
    pod: Pod,
    rt: PodRuntime,
    c: ContainerRuntime,
    exitCode: number,
    reason: string,
    now: number,
    wall: number,
  ): void {
    c.lastTerminated = {
      exitCode,
      reason,
      startedWallMs: c.startedWallMs,
      finishedWallMs: wall,
      containerId: c.id,
    };
    c.consecutiveFailures++;
    const backoff =
      c.consecutiveFailures <= 1
        ? 1000
        : Math.min(BACKOFF_MAX_MS, BACKOFF_BASE_MS * 2 ** (c.consecutiveFailures - 2));
    c.phase = 'backoff';
    c.nextStartSimMs = now + backoff;
    c.memoryBytes = 0;
    if (backoff >= BACKOFF_BASE_MS) {
      this.containerEvent(
        pod,
        c,
        'Warning',
        'BackOff',
        `Back-off restarting failed container ${c.name} in pod ${pod.metadata.name}_${pod.metadata.namespace}(${pod.metadata.uid})`,
      );
    }
    this.deps.onTermination?.(rt, c, reason);
  }

  private containerEvent(
    pod: Pod,
    c: ContainerRuntime,
    type: 'Normal' | 'Warning',
    reason: string,
    message: string,
  ): void {
    this.deps.events.record(pod, {
      type,
      reason,
      message,
      source: this.source,
      fieldPath: `spec.containers{${c.name}}`,
    });
  }

  private writeStatus(pod: Pod, rt: PodRuntime, now: number): void {
    const wall = this.deps.clock.wallMs();
    const statuses: ContainerStatus[] = [];
    for (const c of rt.containers) {
      const spec = pod.spec.containers.find((s) => s.name === c.name);
      const b = spec ? this.deps.behaviours.behaviour(pod, spec, now) : undefined;
      const ready =
        c.phase === 'running' && now - c.startedSimMs >= (b?.readinessDelayMs ?? 0) && !b?.unready;
      if (c.phase === 'running' && c.wasReady && !ready && b?.unready) {
        this.containerEvent(
          pod,
          c,
          'Warning',
          'Unhealthy',
          b.unreadyMessage ?? 'Readiness probe failed: HTTP probe failed with statuscode: 503',
        );
      }
      if (c.phase === 'running') c.wasReady = ready;
      const s: ContainerStatus = {
        name: c.name,
        image: c.image,
        imageID: `docker.io/${c.image.split(':')[0]}@sha256:${c.id.slice(0, 64)}`,
        ready,
        started: c.phase === 'running',
        restartCount: c.restartCount,
        state: {},
        lastState: {},
      };
      if (c.everStarted) s.containerID = `containerd://${c.id}`;
      if (c.phase === 'running') s.state = { running: { startedAt: isoTime(c.startedWallMs) } };
      else if (c.phase === 'creating') s.state = { waiting: { reason: 'ContainerCreating' } };
      else if (c.phase === 'pullError') {
        s.state = { waiting: { reason: 'ImagePullBackOff', message: `Back-off pulling image "${c.image}"` } };
      } else if (c.phase === 'backoff' && c.lastTerminated) {
        const waitMs = c.nextStartSimMs - now;
        if (c.consecutiveFailures <= 1 || waitMs <= 0) {
          s.state = { terminated: terminated(c.lastTerminated) };
        } else {
          const backoffS = Math.round(
            Math.min(BACKOFF_MAX_MS, BACKOFF_BASE_MS * 2 ** (c.consecutiveFailures - 2)) / 1000,
          );
          s.state = {
            waiting: {
              reason: 'CrashLoopBackOff',
              message: `back-off ${backoffS >= 60 ? `${Math.floor(backoffS / 60)}m${backoffS % 60}s` : `${backoffS}s`} restarting failed container=${c.name} pod=${pod.metadata.name}_${pod.metadata.namespace}(${pod.metadata.uid})`,
            },
          };
        }
      }
      if (c.lastTerminated && !s.state.terminated) {
        s.lastState = { terminated: terminated(c.lastTerminated) };
      }
      statuses.push(s);
    }
    const allReady = statuses.every((s) => s.ready);
    const anyStarted = rt.containers.some((c) => c.everStarted);
    const old = pod.status ?? {};
    const cond = (type: string, on: boolean): Condition => {
      const prev = (old.conditions ?? []).find((c) => c.type === type);
      const status = on ? 'True' : 'False';
      const c: Condition = {
        type,
        status,
        lastProbeTime: null,
        lastTransitionTime:
          prev && prev.status === status ? (prev.lastTransitionTime ?? isoTime(wall)) : isoTime(wall),
      };
      if (!on && (type === 'Ready' || type === 'ContainersReady')) {
        const notReady = statuses.filter((s) => !s.ready).map((s) => s.name);
        c.reason = 'ContainersNotReady';
        c.message = `containers with unready status: [${notReady.join(' ')}]`;
      }
      return c;
    };
    const status: PodStatus = {
      phase: anyStarted ? 'Running' : 'Pending',
      conditions: [
        cond('PodReadyToStartContainers', true),
        cond('Initialized', true),
        cond('Ready', allReady),
        cond('ContainersReady', allReady),
        cond('PodScheduled', true),
      ],
      hostIP: this.model.ip,
      podIP: rt.ip,
      podIPs: [{ ip: rt.ip }],
      startTime: old.startTime ?? isoTime(wall),
      containerStatuses: statuses,
      qosClass: rt.qosClass,
    };
    if (JSON.stringify(status) === JSON.stringify(pod.status)) return;
    const fresh = this.deps.store.tryGet<Pod>(POD, pod.metadata.namespace, pod.metadata.name);
    if (!fresh || fresh.metadata.uid !== pod.metadata.uid) return;
    fresh.status = status;
    this.deps.store.update(POD, fresh, 'status');
  }

  private evictUnderPressure(now: number): void {
    if (this.model.diskUsedBytes / this.model.diskBytes < DISK_PRESSURE_RATIO) return;
    if (now - this.lastEvictionSimMs < EVICTION_INTERVAL_MS) return;
    const candidates = this.deps.store
      .peek<Pod>(POD, { fields: [{ field: 'spec.nodeName', negate: false, value: this.model.name }] })
      .filter((p) => p.status?.phase === 'Running')
      .filter((p) => !(p.metadata.ownerReferences ?? []).some((o) => o.kind === 'DaemonSet'))
      .filter((p) => p.metadata.namespace !== 'kube-system');
    const victim = candidates.sort(
      (a, b) =>
        (a.status?.qosClass === 'BestEffort' ? -1 : 0) - (b.status?.qosClass === 'BestEffort' ? -1 : 0),
    )[0];
    if (!victim) return;
    this.lastEvictionSimMs = now;
    const free = Math.round((1 - this.model.diskUsedBytes / this.model.diskBytes) * 100);
    const message = `The node was low on resource: ephemeral-storage. Threshold quantity: 10%, available: ${free}%. `;
    const fresh = this.deps.store.get<Pod>(POD, victim.metadata.namespace, victim.metadata.name);
    const wall = isoTime(this.deps.clock.wallMs());
    fresh.status = {
      ...fresh.status,
      phase: 'Failed',
      reason: 'Evicted',
      message,
      conditions: [
        {
          type: 'DisruptionTarget',
          status: 'True',
          reason: 'TerminationByKubelet',
          message,
          lastTransitionTime: wall,
        },
      ],
      containerStatuses: (fresh.status?.containerStatuses ?? []).map((s) => ({
        ...s,
        ready: false,
        started: false,
        state: {
          terminated: {
            exitCode: 137,
            reason: 'ContainerStatusUnknown',
            message: 'The container could not be located when the pod was terminated',
            finishedAt: wall,
          },
        },
      })),
    };
    this.deps.store.update(POD, fresh, 'status');
    this.deps.events.record(fresh, { type: 'Warning', reason: 'Evicted', message, source: this.source });
    this.deps.runtimes.remove(fresh.metadata.uid ?? '');
  }
}

function terminated(t: NonNullable<ContainerRuntime['lastTerminated']>) {
  return {
    exitCode: t.exitCode,
    reason: t.reason,
    startedAt: isoTime(t.startedWallMs),
    finishedAt: isoTime(t.finishedWallMs),
    containerID: `containerd://${t.containerId}`,
  };
}
