// Root causes in the scenario files' vocabulary (sim/scenarios/*.yaml groundTruth): the ranker's kinds and
// object forms mapped onto the fault kinds and `Kind/ns/name` / `Node/name` / `Source/ip` the simulator uses,
// so scenario evaluation compares like with like.
import type { RootCauseCandidate } from './incident.ts';

/** Ranker kind → scenario kinds that mean the same fault (first is the preferred spelling). */
export const KIND_ALIASES: Record<string, string[]> = {
  bad_rollout: ['crash_loop_after_rollout', 'bad_rollout'],
  crash_loop: ['crash_loop', 'crash_loop_after_rollout'],
  privileged_pod: ['privileged_pod_created', 'privileged_pod'],
  exec_into_pod: ['exec_into_pod'],
  ssh_bruteforce: ['ssh_bruteforce'],
  oom_kill: ['oom_kill'],
  memory_leak: ['memory_leak', 'oom_kill'],
  dependency_down: ['dependency_down'],
  latency_spike: ['latency_spike'],
  disk_fill: ['disk_fill'],
  node_not_ready: ['node_not_ready'],
};

/** `Node//n` → `Node/n`, `Source//ip` → `Source/ip`; namespaced objects unchanged. */
export function scenarioObject(object: string): string {
  return object.replace(/^(Node|Source|User|Object)\/\//, '$1/');
}

export function scenarioKind(kind: string): string {
  return KIND_ALIASES[kind]?.[0] ?? kind;
}

export function toScenarioVocabulary(c: Pick<RootCauseCandidate, 'kind' | 'object'>): {
  kind: string;
  object: string;
} {
  return { kind: scenarioKind(c.kind), object: scenarioObject(c.object) };
}

/** True when a candidate names the expected root cause: the same object, and an equivalent kind. */
export function matchesGroundTruth(
  c: Pick<RootCauseCandidate, 'kind' | 'object'>,
  expected: { kind: string; object: string },
  options: { objectOnly?: boolean } = {},
): boolean {
  if (scenarioObject(c.object) !== scenarioObject(expected.object)) return false;
  if (options.objectOnly) return true;
  const kinds = KIND_ALIASES[c.kind] ?? [c.kind];
  return kinds.includes(expected.kind) || c.kind === expected.kind;
}
