// How a container behaves right now: the scenario's normal profile with the active faults laid over it.
// The kubelet asks every tick, so faults that target a workload also hit its replacement pods.
import type { Container, Pod } from '../api/types.ts';

export interface ContainerBehaviour {
  memoryBaselineBytes: number;
  memoryNoiseBytes: number;
  /** Bytes per simulated second the container leaks while running (memory_leak, oom_kill ramp). */
  memoryLeakBytesPerSec: number;
  cpuMillicores: number;
  startDelayMs: number;
  readinessDelayMs: number;
  /** Crash this long after start (bad image, dependency down). */
  crashAfterMs?: number;
  exitCode?: number;
  pullError?: boolean;
  /** Readiness probe fails while set. */
  unready?: boolean;
  /** Message of the failing readiness probe. */
  unreadyMessage?: string;
}

export interface BehaviourSource {
  behaviour(pod: Pod, container: Container, simNowMs: number): ContainerBehaviour;
}

export const DEFAULT_BEHAVIOUR: ContainerBehaviour = {
  memoryBaselineBytes: 64 * 2 ** 20,
  memoryNoiseBytes: 2 * 2 ** 20,
  memoryLeakBytesPerSec: 0,
  cpuMillicores: 50,
  startDelayMs: 1500,
  readinessDelayMs: 2000,
};

export const defaultBehaviours: BehaviourSource = { behaviour: () => DEFAULT_BEHAVIOUR };
