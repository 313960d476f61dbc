// Per-container (and per-pod OOM) metrics from the cgroup v2 kubepods tree under `<hostRoot>/sys/fs/cgroup`,
// named through the kubelet's log directories. cgroup v1 hosts are reported once and skipped.
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import type { Logger } from '../../../common/log.ts';
import type { Subject } from '../../../common/signal.ts';
import { parseFlatKeyed, parseIoStat } from './cgroup-files.ts';
import { listPodCgroups } from './cgroup-tree.ts';
import { type CgroupVersion, detectCgroupVersion, KUBEPODS_DIRS } from './cgroup-version.ts';
import type { CounterDeltas } from './counter-deltas.ts';
import { finiteCapacity } from './kernel-tables.ts';
import type { MetricSink } from './metric-sink.ts';
import { PodDirectory } from './pod-directory.ts';
import type { SmallFileReader } from './small-file.ts';
import type { SourceGate } from './source-gate.ts';

/** Files read per container; each is a source that goes off (one warning) when no container has it. */
const CONTAINER_FILES = [
  'memory.current',
  'memory.max',
  'memory.events',
  'cpu.stat',
  'io.stat',
  'pids.current',
  'pids.max',
] as const;
type ContainerFile = (typeof CONTAINER_FILES)[number];

export interface ContainerMetricsOptions {
  hostRoot: string;
  node: string;
  files: SmallFileReader;
  gate: SourceGate;
  counters: CounterDeltas;
  logger: Logger;
}

export class ContainerMetrics {
  private readonly cgroupRoot: string;
  private readonly node: string;
  private readonly files: SmallFileReader;
  private readonly gate: SourceGate;
  private readonly counters: CounterDeltas;
  private readonly logger: Logger;
  private readonly names: PodDirectory;
  private version: CgroupVersion | undefined;
  private readonly seen = new Map<ContainerFile, number>();
  private readonly missed = new Map<ContainerFile, number>();

  constructor(o: ContainerMetricsOptions) {
    this.cgroupRoot = join(o.hostRoot, 'sys', 'fs', 'cgroup');
    this.node = o.node;
    this.files = o.files;
    this.gate = o.gate;
    this.counters = o.counters;
    this.logger = o.logger;
    this.names = new PodDirectory(o.hostRoot);
  }

  /** The hierarchy found so far; `v1` is final, `none` is looked for again later. */
  get cgroupVersion(): CgroupVersion | undefined {
    return this.version;
  }

  sample(sink: MetricSink, nowMs: number): void {
    const kubepods = this.kubepodsPath(nowMs);
    if (kubepods === undefined) return;
    this.seen.clear();
    this.missed.clear();
    for (const pod of listPodCgroups(kubepods)) {
      const name = this.names.pod(pod.uid, nowMs);
      const podSubject: Subject = name
        ? { kind: 'pod', node: this.node, namespace: name.namespace, pod: name.pod }
        : { kind: 'pod', node: this.node, pod: pod.uid };
      // memory.events is hierarchical: the pod's count keeps the OOM kills of containers whose cgroup is
      // already gone (the killed container is replaced by a new one with a fresh counter).
      const podEvents = this.read('memory.events', join(pod.path, 'memory.events'), nowMs);
      if (podEvents !== undefined)
        sink.add('pod.memory.oom_kills', parseFlatKeyed(podEvents).get('oom_kill') ?? 0, {
          subject: podSubject,
        });
      for (const c of pod.containers) {
        const subject: Subject = {
          ...podSubject,
          kind: 'container',
          container: this.names.container(c.id, nowMs) ?? c.id.slice(0, 12),
        };
        this.container(sink, nowMs, c.id, c.path, subject);
      }
    }
    this.settleSources(nowMs);
  }

  private container(sink: MetricSink, nowMs: number, id: string, path: string, subject: Subject): void {
    const current = this.number('memory.current', join(path, 'memory.current'), nowMs);
    // The cgroup went away between listing and reading: the container ended; nothing more to read.
    if (current === undefined && !existsSync(path)) return;
    if (current !== undefined) {
      const limit = finiteCapacity(this.number('memory.max', join(path, 'memory.max'), nowMs));
      sink.add(
        'container.memory.current_bytes',
        current,
        limit !== undefined ? { subject, capacity: limit } : { subject },
      );
    }
    const events = this.read('memory.events', join(path, 'memory.events'), nowMs);
    if (events !== undefined)
      sink.add('container.memory.oom_kills', parseFlatKeyed(events).get('oom_kill') ?? 0, { subject });

    const cpu = this.read('cpu.stat', join(path, 'cpu.stat'), nowMs);
    if (cpu !== undefined) {
      const s = parseFlatKeyed(cpu);
      const usage = s.get('usage_usec');
      const d = usage !== undefined ? this.counters.delta(`${id}.cpu`, usage, nowMs) : undefined;
      if (d) sink.add('container.cpu.cores', d.delta / 1000 / d.elapsedMs, { subject });
      // nr_periods only moves when the container has a CPU limit (a CFS quota).
      const periods = s.get('nr_periods');
      const throttled = s.get('nr_throttled');
      if (periods !== undefined && throttled !== undefined) {
        const p = this.counters.delta(`${id}.periods`, periods, nowMs);
        const t = this.counters.delta(`${id}.throttled`, throttled, nowMs);
        if (p && t)
          sink.add('container.cpu.throttled_ratio', p.delta > 0 ? Math.min(1, t.delta / p.delta) : 0, {
            subject,
          });
      }
    }

    const io = this.read('io.stat', join(path, 'io.stat'), nowMs);
    if (io !== undefined) {
      const b = parseIoStat(io);
      const r = this.counters.rate(`${id}.rbytes`, b.readBytes, nowMs);
      const w = this.counters.rate(`${id}.wbytes`, b.writeBytes, nowMs);
      if (r !== undefined) sink.add('container.io.read_bytes_per_s', r, { subject });
      if (w !== undefined) sink.add('container.io.write_bytes_per_s', w, { subject });
    }

    const pids = this.number('pids.current', join(path, 'pids.current'), nowMs);
    if (pids !== undefined) {
      const limit = finiteCapacity(this.number('pids.max', join(path, 'pids.max'), nowMs));
      sink.add(
        'container.pids.current',
        pids,
        limit !== undefined ? { subject, capacity: limit } : { subject },
      );
    }
  }

  private read(file: ContainerFile, path: string, nowMs: number): string | undefined {
    const source = `cgroup.${file}`;
    if (!this.gate.shouldTry(source, nowMs)) return undefined;
    const text = this.files.read(path);
    const tally = text === undefined ? this.missed : this.seen;
    tally.set(file, (tally.get(file) ?? 0) + 1);
    return text;
  }

  private number(file: ContainerFile, path: string, nowMs: number): number | undefined {
    const text = this.read(file, path, nowMs);
    if (text === undefined) return undefined;
    const t = text.trim();
    if (t === 'max') return Number.POSITIVE_INFINITY;
    const n = Number(t);
    return Number.isFinite(n) ? n : undefined;
  }

  /**
   * A file missing from single containers is a race with their exit; missing from every container it is
   * a controller not enabled on this host (e.g. no io controller delegated): that source goes off once.
   */
  private settleSources(nowMs: number): void {
    for (const file of CONTAINER_FILES) {
      const source = `cgroup.${file}`;
      if ((this.seen.get(file) ?? 0) > 0) this.gate.ok(source);
      else if ((this.missed.get(file) ?? 0) > 0)
        this.gate.fail(
          source,
          nowMs,
          { file, cgroupRoot: this.cgroupRoot },
          'no container cgroup has this file; its metrics are off',
        );
    }
  }

  private kubepodsPath(nowMs: number): string | undefined {
    if (this.version === 'v1') return undefined;
    if (this.version !== 'v2') {
      if (!this.gate.shouldTry('cgroup', nowMs)) return undefined;
      this.version = detectCgroupVersion(this.cgroupRoot);
      if (this.version === 'v1') {
        this.logger.warn(
          { cgroupRoot: this.cgroupRoot },
          'cgroup v1 is not supported; container metrics are off (node metrics keep working)',
        );
        return undefined;
      }
    }
    for (const d of KUBEPODS_DIRS) {
      const p = join(this.cgroupRoot, d);
      if (existsSync(p)) {
        this.gate.ok('cgroup');
        return p;
      }
    }
    this.gate.fail(
      'cgroup',
      nowMs,
      { cgroupRoot: this.cgroupRoot, version: this.version },
      'no kubepods cgroup tree found; container metrics are off until one appears',
    );
    return undefined;
  }
}
