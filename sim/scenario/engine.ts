// The scenario engine: container behaviour (the workload's profile with active faults laid over it)
// and the application logs every running container writes, including the connection errors and
// timeouts callers log while a service they call is down or slow.
import { resourceByKind } from '../api/resources.ts';
import type { Store } from '../api/store.ts';
import type { Container, KubeObject, Pod } from '../api/types.ts';
import type { SimClock } from '../clock.ts';
import {
  type BehaviourSource,
  type ContainerBehaviour,
  DEFAULT_BEHAVIOUR,
} from '../controllers/behaviour.ts';
import {
  type ContainerRuntime,
  type PodRuntime,
  parseQuantity,
  type RuntimeRegistry,
} from '../controllers/runtime.ts';
import type { CriLine, CriLogWriter } from '../node/cri-log.ts';
import type { NodeModel } from '../node/model.ts';
import type { Random } from '../random.ts';
import { type FaultRunner, targetCoversPod } from './faults.ts';
import type { Scenario, WorkloadSpec } from './schema.ts';
import { compileTemplate, formatAppLine, type Template, type TemplateContext } from './template.ts';

const ENDPOINTS = resourceByKind('Endpoints');
const MAX_LINES_PER_TICK = 200;

interface CompiledLog {
  template: Template;
  rate: number;
  level: string;
  stream: 'stdout' | 'stderr';
}

interface Profile {
  spec: WorkloadSpec;
  logs: CompiledLog[];
  startup: Template[];
  behaviour: ContainerBehaviour;
}

const DOWN_TEMPLATES = [
  'connection refused to {target} (retrying in {int:1-5}s)',
  'GET /api/{choice:orders|cart|items|checkout} 503: upstream unavailable: connection refused to {target}',
  'failed to acquire connection: dial tcp {target}: connect: connection refused',
].map(compileTemplate);
const SLOW_TEMPLATES = [
  'timeout calling {target} after {int:2000-5000}ms',
  'GET /api/{choice:orders|cart|items|checkout} 504: upstream request timeout from {target}',
].map(compileTemplate);

/** A stable pseudo-random number in [0, 1) for a key (FNV-1a). */
function hashFraction(key: string): number {
  let h = 0x811c9dc5;
  for (let i = 0; i < key.length; i++) {
    h ^= key.charCodeAt(i);
    h = Math.imul(h, 0x01000193) >>> 0;
  }
  return h / 4294967296;
}

export interface EngineDeps {
  scenario: Scenario;
  store: Store;
  clock: SimClock;
  random: Random;
  runtimes: RuntimeRegistry;
  faults: FaultRunner;
  nodes: Map<string, NodeModel>;
  writers: Map<string, CriLogWriter>;
  /** Multiplies every workload's log rates (steady lines and error lines); 1 = as the scenario says. */
  logVolume?: number;
}

export class ScenarioEngine implements BehaviourSource {
  private readonly deps: EngineDeps;
  private readonly profiles = new Map<string, Profile>();
  private readonly accumulators = new Map<string, number[]>();
  private readonly lastContainerIds = new Map<string, string>();
  private lastTickSimMs: number;
  /** Services that have had a ready endpoint: callers only complain about a service that went away. */
  private readonly everReady = new Set<string>();
  private lastTickWall: number;
  linesWritten = 0;

  constructor(deps: EngineDeps) {
    this.deps = deps;
    for (const w of deps.scenario.workloads) {
      const mem = w.memory;
      this.profiles.set(`${w.namespace}/${w.name}`, {
        spec: w,
        logs: w.logs.map((l) => ({
          template: compileTemplate(l.message),
          rate: l.rate * (deps.logVolume ?? 1),
          level: l.level,
          stream: l.stream,
        })),
        startup: w.startupLogs.map(compileTemplate),
        behaviour: {
          ...DEFAULT_BEHAVIOUR,
          memoryBaselineBytes: mem
            ? (parseQuantity(mem.baseline) ?? DEFAULT_BEHAVIOUR.memoryBaselineBytes)
            : DEFAULT_BEHAVIOUR.memoryBaselineBytes,
          memoryNoiseBytes: mem ? (parseQuantity(mem.noise) ?? 0) : DEFAULT_BEHAVIOUR.memoryNoiseBytes,
          cpuMillicores:
            w.cpu !== undefined ? (parseQuantity(w.cpu) ?? 0.05) * 1000 : DEFAULT_BEHAVIOUR.cpuMillicores,
          startDelayMs: w.startSeconds * 1000,
          readinessDelayMs: w.readinessSeconds * 1000,
        },
      });
    }
    this.lastTickSimMs = deps.clock.elapsedMs();
    this.lastTickWall = deps.clock.wallMs();
  }

  private profileOf(pod: Pick<Pod, 'metadata'>): Profile | undefined {
    return this.profiles.get(`${pod.metadata.namespace}/${pod.metadata.labels?.app ?? ''}`);
  }

  behaviour(pod: Pod, container: Container, simNowMs: number): ContainerBehaviour {
    const b: ContainerBehaviour = { ...(this.profileOf(pod)?.behaviour ?? DEFAULT_BEHAVIOUR) };
    const limit = parseQuantity(container.resources?.limits?.memory);
    for (const a of this.deps.faults.active) {
      if (a.done) continue;
      const f = a.fault;
      switch (f.kind) {
        case 'oom_kill':
          if (a.podUid === pod.metadata.uid) {
            const headroom = Math.max(0, (limit ?? b.memoryBaselineBytes * 4) - b.memoryBaselineBytes);
            b.memoryLeakBytesPerSec = f.rampSeconds > 0 ? (headroom / f.rampSeconds) * 1.05 : headroom * 100;
          }
          break;
        case 'memory_leak':
          if (targetCoversPod(f.target, pod)) b.memoryLeakBytesPerSec += parseQuantity(f.rate) ?? 0;
          break;
        case 'crash_loop_after_rollout':
          if (container.image === f.image && f.pullError) b.pullError = true;
          else if (container.image === f.image) {
            b.crashAfterMs = f.crashAfterSeconds * 1000;
            b.exitCode = f.exitCode;
          }
          break;
        case 'dependency_down':
          if (targetCoversPod(f.target, pod)) {
            b.crashAfterMs = 500;
            b.exitCode = f.exitCode;
          }
          break;
        case 'latency_spike':
          if (targetCoversPod(f.target, pod)) {
            b.cpuMillicores *= 3;
            // Probes time out in some 5 s windows: readiness flaps, deterministically per pod and window.
            const window = Math.floor(simNowMs / 5000);
            if (hashFraction(`${pod.metadata.uid}/${window}`) < f.readinessFailureRatio) {
              b.unready = true;
              b.unreadyMessage = `Readiness probe failed: Get "http://${pod.status?.podIP ?? '10.244.0.1'}:${container.ports?.[0]?.containerPort ?? 8080}/healthz": context deadline exceeded (Client.Timeout exceeded while awaiting headers)`;
            }
          }
          break;
      }
    }
    return b;
  }

  /** The crash message a container prints right before it exits (OOM kills print nothing). */
  crashLines(pod: PodRuntime, container: ContainerRuntime, reason: string): string[] {
    if (reason !== 'Error') return [];
    for (const a of this.deps.faults.active) {
      const f = a.fault;
      if (a.done) continue;
      if (f.kind === 'crash_loop_after_rollout' && container.image === f.image) return [f.message];
      if (
        f.kind === 'dependency_down' &&
        targetCoversPod(f.target, {
          metadata: { name: pod.name, namespace: pod.namespace, labels: pod.labels },
          spec: { containers: [], nodeName: pod.node },
        })
      ) {
        return [f.message];
      }
    }
    return [];
  }

  writeCrash(pod: PodRuntime, container: ContainerRuntime, reason: string): void {
    const lines = this.crashLines(pod, container, reason);
    if (lines.length === 0) return;
    const wall = this.deps.clock.wallMs();
    const format =
      this.profileOf({ metadata: { name: pod.name, namespace: pod.namespace, labels: pod.labels } })?.spec
        .logFormat ?? 'plain';
    this.write(
      pod,
      container,
      lines.map((l) => ({
        wallMs: wall,
        stream: 'stderr' as const,
        text: formatAppLine(format, wall, 'fatal', l),
      })),
    );
  }

  private write(pod: PodRuntime, c: ContainerRuntime, lines: CriLine[]): void {
    const writer = this.deps.writers.get(pod.node);
    if (!writer || lines.length === 0) return;
    writer.append(
      {
        namespace: pod.namespace,
        pod: pod.name,
        uid: pod.uid,
        container: c.name,
        restartCount: c.restartCount,
        containerId: c.id,
      },
      lines,
    );
    this.linesWritten += lines.length;
  }

  /** Service health as callers experience it: down (no ready endpoints) or slow (latency spike). */
  private serviceState(): Map<string, { down: boolean; factor: number; port: number }> {
    const out = new Map<string, { down: boolean; factor: number; port: number }>();
    for (const w of this.deps.scenario.workloads) {
      if (w.port === undefined) continue;
      const key = `${w.namespace}/${w.name}`;
      const ep = this.deps.store
        .peek<KubeObject & { subsets?: Array<{ addresses?: unknown[] }> }>(ENDPOINTS, {
          namespace: w.namespace,
        })
        .find((e) => e.metadata.name === w.name);
      const ready = (ep?.subsets ?? []).some((s) => (s.addresses ?? []).length > 0);
      if (ready) this.everReady.add(key);
      let factor = 1;
      for (const a of this.deps.faults.active) {
        if (
          !a.done &&
          a.fault.kind === 'latency_spike' &&
          a.fault.target.split('/').slice(1).join('/') === key
        )
          factor = a.fault.factor;
      }
      out.set(key, { down: this.everReady.has(key) && !ready, factor, port: w.port });
    }
    return out;
  }

  tick(): void {
    const now = this.deps.clock.elapsedMs();
    const wallNow = this.deps.clock.wallMs();
    const dtS = Math.max(0, (now - this.lastTickSimMs) / 1000);
    const wallStart = this.lastTickWall;
    this.lastTickSimMs = now;
    this.lastTickWall = wallNow;
    if (dtS === 0) return;
    const services = this.serviceState();
    const r = this.deps.random;
    const live = new Set<string>();
    for (const pod of this.deps.runtimes.all()) {
      if (this.deps.nodes.get(pod.node)?.kubeletStopped) continue;
      const profile = this.profileOf({
        metadata: { name: pod.name, namespace: pod.namespace, labels: pod.labels },
      });
      if (!profile) continue;
      const spec = profile.spec;
      const own = services.get(`${spec.namespace}/${spec.name}`);
      for (const c of pod.containers) {
        const key = `${pod.uid}/${c.name}`;
        live.add(key);
        if (c.phase !== 'running') continue;
        const ctx: TemplateContext = {
          pod: pod.name,
          node: pod.node,
          namespace: pod.namespace,
          service: spec.name,
          latencyFactor: own?.factor ?? 1,
        };
        const lines: CriLine[] = [];
        const at = () => wallStart + r.next() * (wallNow - wallStart);
        if (this.lastContainerIds.get(key) !== c.id) {
          this.lastContainerIds.set(key, c.id);
          for (const t of profile.startup)
            lines.push({
              wallMs: c.startedWallMs,
              stream: 'stdout',
              text: formatAppLine(spec.logFormat, c.startedWallMs, 'info', t(r, ctx)),
            });
        }
        const acc = this.accumulators.get(key) ?? new Array(profile.logs.length + spec.calls.length).fill(0);
        this.accumulators.set(key, acc);
        profile.logs.forEach((l, i) => {
          acc[i] = (acc[i] ?? 0) + l.rate * dtS;
          const n = Math.min(MAX_LINES_PER_TICK, Math.floor(acc[i] ?? 0));
          acc[i] = (acc[i] ?? 0) - n;
          for (let k = 0; k < n; k++) {
            const ms = at();
            lines.push({
              wallMs: ms,
              stream: l.stream,
              text: formatAppLine(spec.logFormat, ms, l.level, l.template(r, ctx)),
            });
          }
        });
        spec.calls.forEach((call, j) => {
          const svcKey = call.includes('/') ? call : `${spec.namespace}/${call}`;
          const state = services.get(svcKey);
          const idx = profile.logs.length + j;
          if (!state || (!state.down && state.factor <= 1)) {
            acc[idx] = 0;
            return;
          }
          acc[idx] = (acc[idx] ?? 0) + spec.callErrorRate * (this.deps.logVolume ?? 1) * dtS;
          const n = Math.min(MAX_LINES_PER_TICK, Math.floor(acc[idx] ?? 0));
          acc[idx] = (acc[idx] ?? 0) - n;
          const target = `${svcKey.split('/')[1]}:${state.port}`;
          const templates = state.down ? DOWN_TEMPLATES : SLOW_TEMPLATES;
          for (let k = 0; k < n; k++) {
            const ms = at();
            const text = r.pick(templates)(r, { ...ctx, target });
            lines.push({
              wallMs: ms,
              stream: 'stderr',
              text: formatAppLine(spec.logFormat, ms, 'error', text),
            });
          }
        });
        lines.sort((a, b) => a.wallMs - b.wallMs);
        this.write(pod, c, lines);
      }
    }
    for (const k of this.accumulators.keys()) if (!live.has(k)) this.accumulators.delete(k);
    for (const k of this.lastContainerIds.keys()) if (!live.has(k)) this.lastContainerIds.delete(k);
  }
}
