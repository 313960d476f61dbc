// Signals from the changes of one pod's status, as the kubelet reports them: restarts, OOM kills, crash
// loops, image pull failures, evictions. Pure: (previous pod, pod) → signals, so every rule is testable.
import type { V1ContainerStatus, V1Pod } from '@kubernetes/client-node';
import type { Signal, Subject } from '../../../common/signal.ts';

/** The owning workload as `Kind/name`: a ReplicaSet made by a Deployment counts as that Deployment. */
export function workloadOf(pod: V1Pod): string | undefined {
  const owner =
    pod.metadata?.ownerReferences?.find((o) => o.controller) ?? pod.metadata?.ownerReferences?.[0];
  if (!owner) return undefined;
  if (owner.kind === 'ReplicaSet') {
    const hash = pod.metadata?.labels?.['pod-template-hash'];
    if (hash && owner.name.endsWith(`-${hash}`)) return `Deployment/${owner.name.slice(0, -hash.length - 1)}`;
  }
  return `${owner.kind}/${owner.name}`;
}

export function podSubject(pod: V1Pod, node: string, container?: string): Subject {
  const subject: Subject = {
    kind: container ? 'container' : 'pod',
    node,
    namespace: pod.metadata?.namespace ?? '',
    pod: pod.metadata?.name ?? '',
  };
  const workload = workloadOf(pod);
  if (workload) subject.workload = workload;
  if (container) subject.container = container;
  return subject;
}

function statuses(pod: V1Pod | undefined): Map<string, V1ContainerStatus> {
  const all = [...(pod?.status?.initContainerStatuses ?? []), ...(pod?.status?.containerStatuses ?? [])];
  return new Map(all.map((s) => [s.name, s]));
}

const timeOf = (d: Date | string | undefined, fallback: number) => (d ? new Date(d).getTime() : fallback);

/** On first sight of a pod, an OOM kill this recent is still news. */
const RECENT_OOM_MS = 10 * 60_000;

export function podSignals(old: V1Pod | undefined, pod: V1Pod, node: string, nowMs: number): Signal[] {
  const out: Signal[] = [];
  const name = `${pod.metadata?.namespace}/${pod.metadata?.name}`;
  const before = statuses(old);
  for (const [container, s] of statuses(pod)) {
    const prev = before.get(container);
    const subject = podSubject(pod, node, container);
    const restarted = prev !== undefined && s.restartCount > prev.restartCount;
    const terminated = s.lastState?.terminated ?? s.state?.terminated;
    // A pod seen for the first time (agent start or restart) still reports a recent OOM kill, so an agent
    // that came up moments after the kill does not miss it; the aggregator folds repeats of a signal.
    const recentOnFirstSight =
      prev === undefined && nowMs - timeOf(terminated?.finishedAt, 0) < RECENT_OOM_MS;
    const wasOom =
      terminated?.reason === 'OOMKilled' &&
      (restarted ||
        recentOnFirstSight ||
        (prev?.state?.terminated?.reason !== 'OOMKilled' && s.state?.terminated?.reason === 'OOMKilled'));
    if (wasOom) {
      out.push({
        kind: 'pod.oom_killed',
        subject,
        timeMs: timeOf(terminated?.finishedAt, nowMs),
        severity: 'error',
        score: 1,
        explanation: `container ${container} of ${name} was OOM-killed (exit ${terminated?.exitCode ?? 137}); restart #${s.restartCount}`,
        evidence: { values: { exitCode: terminated?.exitCode ?? 137, restarts: s.restartCount } },
        source: 'kube.pods',
      });
    } else if (restarted) {
      const reason = terminated?.reason ?? 'unknown reason';
      out.push({
        kind: 'pod.restarted',
        subject,
        timeMs: timeOf(terminated?.finishedAt, nowMs),
        severity: 'warning',
        score: 0.6,
        explanation: `container ${container} of ${name} restarted (${reason}, exit ${terminated?.exitCode ?? '?'}); restart #${s.restartCount}`,
        evidence: { values: { exitCode: terminated?.exitCode ?? -1, restarts: s.restartCount } },
        source: 'kube.pods',
      });
    }
    const waiting = s.state?.waiting?.reason;
    if (waiting && waiting !== prev?.state?.waiting?.reason) {
      if (waiting === 'CrashLoopBackOff') {
        out.push({
          kind: 'pod.crash_loop',
          subject,
          timeMs: nowMs,
          severity: 'error',
          score: 0.9,
          explanation: `container ${container} of ${name} is in CrashLoopBackOff after ${s.restartCount} restarts`,
          evidence: {
            values: { restarts: s.restartCount },
            lines: s.state?.waiting?.message ? [s.state.waiting.message] : [],
          },
          source: 'kube.pods',
        });
      } else if (
        waiting === 'ErrImagePull' ||
        waiting === 'ImagePullBackOff' ||
        waiting === 'InvalidImageName'
      ) {
        out.push({
          kind: 'pod.image_pull_failed',
          subject,
          timeMs: nowMs,
          severity: 'error',
          score: 0.9,
          explanation: `container ${container} of ${name} cannot pull image ${s.image}: ${waiting}`,
          evidence: {
            attributes: { image: s.image },
            lines: s.state?.waiting?.message ? [s.state.waiting.message] : [],
          },
          source: 'kube.pods',
        });
      }
    }
  }
  if (pod.status?.reason === 'Evicted' && old?.status?.reason !== 'Evicted') {
    out.push({
      kind: 'pod.evicted',
      subject: podSubject(pod, node),
      timeMs: nowMs,
      severity: 'warning',
      score: 0.7,
      explanation: `${name} was evicted from ${node}: ${pod.status?.message ?? 'no message'}`,
      source: 'kube.pods',
    });
  }
  return out;
}

/** Counts Ready transitions per pod and reports flapping: 3 or more within 5 minutes. */
export class ReadinessFlapTracker {
  private readonly flips = new Map<string, number[]>();
  private readonly windowMs: number;
  private readonly threshold: number;

  constructor(windowMs = 5 * 60_000, threshold = 3) {
    this.windowMs = windowMs;
    this.threshold = threshold;
  }

  observe(old: V1Pod | undefined, pod: V1Pod, node: string, nowMs: number): Signal | undefined {
    const ready = (p: V1Pod | undefined) => p?.status?.conditions?.find((c) => c.type === 'Ready')?.status;
    if (!old || ready(old) === ready(pod)) return undefined;
    const key = pod.metadata?.uid ?? `${pod.metadata?.namespace}/${pod.metadata?.name}`;
    const times = (this.flips.get(key) ?? []).filter((t) => nowMs - t < this.windowMs);
    times.push(nowMs);
    this.flips.set(key, times);
    if (times.length !== this.threshold) return undefined; // once per episode
    return {
      kind: 'pod.readiness_flapping',
      subject: podSubject(pod, node),
      timeMs: nowMs,
      severity: 'warning',
      score: 0.6,
      explanation: `${pod.metadata?.namespace}/${pod.metadata?.name} changed readiness ${times.length} times in ${Math.round(this.windowMs / 60_000)} min`,
      evidence: { values: { transitions: times.length } },
      source: 'kube.pods',
    };
  }

  forget(pod: V1Pod): void {
    this.flips.delete(pod.metadata?.uid ?? `${pod.metadata?.namespace}/${pod.metadata?.name}`);
  }
}
