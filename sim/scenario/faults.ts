// Runs a scenario's timed faults. Each fault starts at `at` simulated seconds (and stops after
// `duration` when given), announces itself as a 'fault' event with the object it hits in the scenario
// vocabulary, and either changes state once (rollout, privileged pod, exec) or lays an overlay over
// container behaviour that the engine consults every tick (OOM ramp, leak, crash, latency, disk).
import type { EventEmitter } from 'node:events';
import type { Logger } from '../../common/log.ts';
import { resourceByKind } from '../api/resources.ts';
import type { AuditRecord } from '../api/server.ts';
import type { Store } from '../api/store.ts';
import type { Pod, Workload } from '../api/types.ts';
import type { SimClock } from '../clock.ts';
import { parseQuantity } from '../controllers/runtime.ts';
import type { AuthLog } from '../node/host-logs.ts';
import type { NodeModel } from '../node/model.ts';
import type { Random } from '../random.ts';
import type { Fault, Scenario } from './schema.ts';

const POD = resourceByKind('Pod');

export interface FaultEvent {
  kind: Fault['kind'];
  /** The object hit, in the scenario vocabulary: `Pod/shop/db-0`, `Node/node-2`, `Source/203.0.113.9`. */
  object: string;
  /** Wall-clock Unix ms when the fault started. */
  atMs: number;
  /** Simulated seconds after start. */
  atSimSeconds: number;
}

export interface ActiveFault {
  fault: Fault;
  startedSimMs: number;
  /** Resolved pod uid for faults aimed at one pod (oom_kill). */
  podUid?: string;
  done: boolean;
  sshSent?: Map<string, number>;
  diskBaseline?: number;
}

export interface FaultDeps {
  scenario: Scenario;
  store: Store;
  clock: SimClock;
  random: Random;
  nodes: Map<string, NodeModel>;
  authLogs: Map<string, AuthLog>;
  audit: (record: AuditRecord) => void;
  emitter: EventEmitter;
  logger: Logger;
}

/** Does `ref` (scenario vocabulary) cover this pod? Workloads and Services match by the `app` label. */
export function targetCoversPod(ref: string, pod: Pick<Pod, 'metadata' | 'spec'>): boolean {
  const [kind, a, b] = ref.split('/');
  if (kind === 'Node') return pod.spec.nodeName === a;
  if (pod.metadata.namespace !== a) return false;
  if (kind === 'Pod') return pod.metadata.name === b;
  return pod.metadata.labels?.app === b;
}

export class FaultRunner {
  readonly active: ActiveFault[] = [];
  private readonly pending: Fault[];
  private readonly deps: FaultDeps;
  /** Simulated ms the fault timeline starts at (`at` offsets count from here); null while held. */
  private originMs: number | null;

  constructor(deps: FaultDeps, held = false) {
    this.deps = deps;
    this.pending = [...deps.scenario.faults].sort((a, b) => a.at - b.at);
    this.originMs = held ? null : 0;
  }

  /** Starts a held timeline now: each fault comes `at` simulated seconds from this moment. */
  release(): void {
    this.originMs ??= this.deps.clock.elapsedMs();
  }

  /** Simulated ms the fault timeline started at, or null while it is held. */
  get origin(): number | null {
    return this.originMs;
  }

  tick(): void {
    const now = this.deps.clock.elapsedMs();
    const origin = this.originMs;
    while (
      origin !== null &&
      this.pending.length &&
      (this.pending[0]?.at ?? Infinity) * 1000 <= now - origin
    ) {
      const f = this.pending.shift() as Fault;
      try {
        this.start(f, now);
      } catch (err) {
        this.deps.logger.error({ err, fault: f.kind }, 'sim fault failed to start');
      }
    }
    for (const a of this.active) {
      if (a.done) continue;
      if (a.fault.duration !== undefined && now - a.startedSimMs >= a.fault.duration * 1000) {
        this.stop(a);
        continue;
      }
      this.step(a, now);
    }
  }

  private announce(kind: Fault['kind'], object: string, simMs: number): void {
    const event: FaultEvent = {
      kind,
      object,
      atMs: this.deps.clock.wallMs(),
      atSimSeconds: Math.round(simMs) / 1000,
    };
    this.deps.logger.info(event, 'sim fault started');
    this.deps.emitter.emit('fault', event);
  }

  private podsCoveredBy(ref: string): Pod[] {
    return this.deps.store
      .peek<Pod>(POD)
      .filter((p) => !p.metadata.deletionTimestamp && p.status?.phase !== 'Failed' && targetCoversPod(ref, p))
      .sort((a, b) => a.metadata.name.localeCompare(b.metadata.name));
  }

  private start(f: Fault, now: number): void {
    const a: ActiveFault = { fault: f, startedSimMs: now, done: false };
    this.active.push(a);
    switch (f.kind) {
      case 'oom_kill': {
        const pod = this.podsCoveredBy(f.target)[0];
        if (pod?.metadata.uid) a.podUid = pod.metadata.uid;
        this.announce(f.kind, pod ? `Pod/${pod.metadata.namespace}/${pod.metadata.name}` : f.target, now);
        return;
      }
      case 'crash_loop_after_rollout': {
        const [, ns, name] = f.target.split('/');
        const deploy = resourceByKind('Deployment');
        const d = this.deps.store.get<Workload>(deploy, ns, name ?? '');
        const container = d.spec.template.spec.containers[0];
        if (container) container.image = f.image;
        d.metadata.resourceVersion = '';
        this.deps.store.update(deploy, d, 'main');
        this.auditCall('patch', 'deployments', 'apps', ns, name, undefined, 'ci-deployer', '10.0.0.250', {
          spec: { template: { spec: { containers: [{ name: container?.name, image: f.image }] } } },
        });
        this.announce(f.kind, f.target, now);
        return;
      }
      case 'disk_fill': {
        const node = this.deps.nodes.get(f.target.split('/')[1] ?? '');
        if (node) a.diskBaseline = node.diskUsedBytes;
        this.announce(f.kind, f.target, now);
        return;
      }
      case 'node_not_ready': {
        const node = this.deps.nodes.get(f.target.split('/')[1] ?? '');
        if (node) node.kubeletStopped = true;
        this.announce(f.kind, f.target, now);
        return;
      }
      case 'ssh_bruteforce': {
        a.sshSent = new Map();
        this.announce(f.kind, `Source/${f.sourceIp}`, now);
        return;
      }
      case 'exec_into_pod': {
        const pod = this.podsCoveredBy(f.target)[0];
        if (!pod) throw new Error(`exec_into_pod: no running pod for ${f.target}`);
        const container = pod.spec.containers[0]?.name ?? '';
        const ns = pod.metadata.namespace ?? 'default';
        const query = [
          ...f.command.map((c) => `command=${encodeURIComponent(c)}`),
          `container=${container}`,
          'stdin=true',
          'stdout=true',
          'tty=true',
        ].join('&');
        this.auditCall(
          'create',
          'pods',
          '',
          ns,
          pod.metadata.name,
          'exec',
          f.user,
          f.sourceIp,
          undefined,
          query,
          101,
        );
        this.announce(f.kind, `Pod/${ns}/${pod.metadata.name}`, now);
        a.done = true;
        return;
      }
      case 'privileged_pod_created': {
        const podObj: Pod = {
          apiVersion: 'v1',
          kind: 'Pod',
          metadata: { name: f.name, namespace: f.namespace, labels: { run: f.name } },
          spec: {
            hostPID: f.hostPID,
            hostNetwork: true,
            containers: [
              {
                name: f.name,
                image: f.image,
                command: [
                  'nsenter',
                  '--target',
                  '1',
                  '--mount',
                  '--uts',
                  '--ipc',
                  '--net',
                  '--pid',
                  '--',
                  'bash',
                ],
                securityContext: { privileged: true },
                stdin: true,
                tty: true,
              },
            ],
            tolerations: [{ operator: 'Exists' }],
          },
        };
        this.deps.store.create(POD, podObj);
        this.auditCall(
          'create',
          'pods',
          '',
          f.namespace,
          undefined,
          undefined,
          f.user,
          f.sourceIp,
          podObj,
          undefined,
          201,
        );
        this.announce(f.kind, `Pod/${f.namespace}/${f.name}`, now);
        a.done = true;
        return;
      }
      default:
        this.announce(f.kind, f.target, now);
    }
  }

  private step(a: ActiveFault, now: number): void {
    const f = a.fault;
    if (f.kind === 'disk_fill') {
      const node = this.deps.nodes.get(f.target.split('/')[1] ?? '');
      if (!node) return;
      const ceiling = (node.diskBytes * Number(f.upTo.slice(0, -1))) / 100;
      const elapsedS = (now - a.startedSimMs) / 1000;
      node.diskUsedBytes = Math.min(
        ceiling,
        Math.max(node.diskUsedBytes, (a.diskBaseline ?? 0) + (parseQuantity(f.rate) ?? 0) * elapsedS),
      );
    } else if (f.kind === 'ssh_bruteforce') {
      this.stepSsh(a, now);
    }
  }

  private stepSsh(a: ActiveFault, now: number): void {
    const f = a.fault;
    if (f.kind !== 'ssh_bruteforce' || !a.sshSent) return;
    const targets = [...(f.nodes ?? []), ...(f.target ? [f.target.split('/')[1] ?? ''] : [])];
    const due = Math.min(f.attempts, Math.floor(((now - a.startedSimMs) / 1000) * f.ratePerSecond));
    const wall = this.deps.clock.wallMs();
    let finished = true;
    targets.forEach((node, ni) => {
      const log = this.deps.authLogs.get(node);
      const sent = a.sshSent?.get(node) ?? 0;
      for (let i = sent; i < due; i++) {
        // Password spraying: each node sees the user list in a different order.
        const user = f.users[(i + ni) % f.users.length] ?? 'root';
        log?.failedPassword(wall, user, f.sourceIp, user !== 'root' && user !== 'ubuntu');
      }
      a.sshSent?.set(node, due);
      if (due < f.attempts) finished = false;
    });
    if (finished) {
      if (f.success) {
        const node = f.success.node ?? targets[0] ?? '';
        this.deps.authLogs.get(node)?.acceptedPassword(wall, f.success.user, f.sourceIp);
      }
      a.done = true;
    }
  }

  private stop(a: ActiveFault): void {
    a.done = true;
    const f = a.fault;
    if (f.kind === 'node_not_ready') {
      const node = this.deps.nodes.get(f.target.split('/')[1] ?? '');
      if (node) node.kubeletStopped = false;
    }
    if (f.kind === 'disk_fill') {
      const node = this.deps.nodes.get(f.target.split('/')[1] ?? '');
      if (node && a.diskBaseline !== undefined) node.diskUsedBytes = a.diskBaseline;
    }
    this.deps.logger.info({ kind: f.kind }, 'sim fault ended');
  }

  /** Marks an oom_kill fault finished once its pod was OOM-killed, so the restarted container is healthy. */
  notifyOomKill(podUid: string): void {
    for (const a of this.active) if (a.fault.kind === 'oom_kill' && a.podUid === podUid) a.done = true;
  }

  private auditCall(
    verb: string,
    resource: string,
    group: string,
    namespace: string | undefined,
    name: string | undefined,
    subresource: string | undefined,
    user: string,
    sourceIP: string,
    requestObject?: unknown,
    query?: string,
    code = 200,
  ): void {
    const base = group ? `/apis/${group}/v1` : '/api/v1';
    let uri = `${base}/namespaces/${namespace}/${resource}`;
    if (name) uri += `/${name}`;
    if (subresource) uri += `/${subresource}`;
    if (query) uri += `?${query}`;
    const objectRef: AuditRecord['objectRef'] = { resource, apiGroup: group, apiVersion: 'v1' };
    if (namespace) objectRef.namespace = namespace;
    if (name) objectRef.name = name;
    if (subresource) objectRef.subresource = subresource;
    const record: AuditRecord = {
      verb,
      requestURI: uri,
      user,
      groups: ['system:authenticated'],
      userAgent:
        subresource === 'exec'
          ? 'kubectl/v1.35.0 (linux/amd64) kubernetes/0000000'
          : 'kubectl/v1.35.0 (linux/amd64) kubernetes/0000000',
      sourceIP,
      objectRef,
      code,
      receivedMs: this.deps.clock.wallMs(),
      completedMs: this.deps.clock.wallMs(),
    };
    if (requestObject !== undefined) record.requestObject = requestObject;
    this.deps.audit(record);
  }
}
