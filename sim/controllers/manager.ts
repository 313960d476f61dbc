// Runs every controller and kubelet from one batched timer (no per-object timers, no busy loops).
// Workload controllers only run when the store changed; kubelets run every tick because time moves.
import type { Logger } from '../../common/log.ts';
import type { Store } from '../api/store.ts';
import type { SimClock } from '../clock.ts';
import type { NodeModel } from '../node/model.ts';
import type { Random } from '../random.ts';
import type { BehaviourSource } from './behaviour.ts';
import { reconcileDaemonSets } from './daemonset.ts';
import { reconcileDeployments } from './deployment.ts';
import { reconcileDisruptionBudgets } from './disruption.ts';
import { reconcileEndpoints } from './endpoints.ts';
import type { EventRecorder } from './events.ts';
import { Kubelet, type KubeletDeps } from './kubelet.ts';
import { NodeLifecycleController, type NodeLifecycleOptions } from './nodelifecycle.ts';
import { reconcileReplicaSets } from './replicaset.ts';
import type { RuntimeRegistry } from './runtime.ts';
import { reconcileScheduler } from './scheduler.ts';
import { reconcileStatefulSets } from './statefulset.ts';

export interface ControllerManagerOptions {
  store: Store;
  clock: SimClock;
  random: Random;
  events: EventRecorder;
  runtimes: RuntimeRegistry;
  behaviours: BehaviourSource;
  nodes: NodeModel[];
  logger: Logger;
  /** Real milliseconds between ticks. */
  tickMs?: number;
  lifecycle?: Partial<NodeLifecycleOptions>;
  onTermination?: KubeletDeps['onTermination'];
}

export class ControllerManager {
  private readonly options: ControllerManagerOptions;
  readonly kubelets: Kubelet[];
  private readonly lifecycle: NodeLifecycleController;
  private timer: NodeJS.Timeout | undefined;
  private lastRv = '';
  private lastFullRunMs = 0;

  constructor(options: ControllerManagerOptions) {
    this.options = options;
    const deps: KubeletDeps = {
      store: options.store,
      clock: options.clock,
      random: options.random,
      events: options.events,
      runtimes: options.runtimes,
      behaviours: options.behaviours,
    };
    if (options.onTermination) deps.onTermination = options.onTermination;
    this.kubelets = options.nodes.map((n) => new Kubelet(n, deps));
    this.lifecycle = new NodeLifecycleController(options.store, options.events, options.clock, {
      gracePeriodMs: options.lifecycle?.gracePeriodMs ?? 40_000,
      podEvictionTimeoutMs: options.lifecycle?.podEvictionTimeoutMs ?? 300_000,
    });
  }

  /** One pass of every controller; exposed so tests can step the cluster deterministically. */
  tick(): void {
    const { store, events, clock } = this.options;
    // Controllers settle in a few passes (deployment → replicaset → scheduler); loop until quiet.
    for (let pass = 0; pass < 4; pass++) {
      const rv = store.resourceVersion;
      const wallNow = clock.wallMs();
      if (rv === this.lastRv && wallNow - this.lastFullRunMs < 2000) break;
      this.lastRv = rv;
      this.lastFullRunMs = wallNow;
      reconcileDeployments(store, events, clock);
      reconcileReplicaSets(store, events);
      reconcileStatefulSets(store, events);
      reconcileDaemonSets(store, events);
      reconcileScheduler(store, events, clock);
    }
    for (const k of this.kubelets) k.tick();
    this.lifecycle.tick();
    reconcileEndpoints(store);
    reconcileDisruptionBudgets(store);
  }

  start(): void {
    const tickMs = this.options.tickMs ?? 250;
    this.timer = setInterval(() => {
      try {
        this.tick();
      } catch (err) {
        this.options.logger.error({ err }, 'sim controller tick failed');
      }
    }, tickMs);
  }

  stop(): void {
    if (this.timer) clearInterval(this.timer);
    this.timer = undefined;
  }
}
