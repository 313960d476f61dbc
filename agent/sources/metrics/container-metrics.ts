// Per-container (and per-pod OOM) metrics from the cgroup v2 kubepods tree under `<hostRoot>/sys/fs/cgroup`,
// named through the kubelet's log directories. cgroup v1 hosts are reported once and skipped.
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import type { Logger } from '../../../common/log.ts';
import type { Subject } from '../../../common/signal.ts';
import { keyedValue, parseIoStat } from './cgroup-files.ts';
import { KubepodsTree } from './cgroup-tree.ts';
import { type CgroupVersion, detectCgroupVersion, KUBEPODS_DIRS } from './cgroup-version.ts';
import { CounterCell } from './counter-deltas.ts';
import { finiteCapacity } from './kernel-tables.ts';
import type { MetricSink } from './metric-sink.ts';
import { PodDirectory } from './pod-directory.ts';
import { isPseudoFs } from './pseudo-fs.ts';
import { parseLimit, type SmallFileReader } from './small-file.ts';
import type { SourceGate } from './source-gate.ts';

/** Files read per container; each is a source that goes off (one warning) when no container has it. */
const CONTAINER_FILES = [
  'memory.current',
  'memory.max',
  'memory.events',
  'memory.stat',
  'cpu.stat',
  'io.stat',
  'pids.current',
  'pids.max',
] as const;
type ContainerFile = (typeof CONTAINER_FILES)[number];

/** Limits change only on an in-place resize; re-reading them every 10 s keeps two reads off each sample. */
const LIMITS_REFRESH_MS = 10_000;
/**
 * memory.stat is the largest file read (about 40 lines) and the dearest for the kernel to produce, and the
 * working set it yields feeds minute-scale forecasts: read every 5 s per container, spread over the period.
 */
const WORKING_SET_EVERY_MS = 5_000;
/** A pause container uses a few hundred KiB; a workload with one process under 4 MiB is not worth watching. */
const SANDBOX_MAX_BYTES = 4 * 1024 * 1024;

export interface ContainerMetricsOptions {
  hostRoot: string;
  node: string;
  files: SmallFileReader;
  gate: SourceGate;
  logger: Logger;
  /** Keep cgroup files open between samples; by default only when the cgroup root is a real cgroup2 mount. */
  keepFilesOpen?: boolean;
}

/** What is remembered per container cgroup between samples: its file paths, name and limits. */
interface Tracked {
  paths: Record<ContainerFile, string>;
  subject: Subject;
  memoryMax: number | undefined;
  pidsMax: number | undefined;
  limitsReadAtMs: number;
  workingSetReadAtMs: number;
  /** No log link names it although its pod is known: the sandbox, or a container that just started. */
  unnamedInNamedPod: boolean;
  generation: number;
  cpu: CounterCell;
  periods: CounterCell;
  throttled: CounterCell;
  readBytes: CounterCell;
  writeBytes: CounterCell;
}

export class ContainerMetrics {
  private readonly cgroupRoot: string;
  private readonly node: string;
  private readonly files: SmallFileReader;
  private readonly gate: SourceGate;
  private readonly logger: Logger;
  private readonly names: PodDirectory;
  private readonly keepOpenOption: boolean | undefined;
  private keepOpen = false;
  private version: CgroupVersion | undefined;
  private tree: KubepodsTree | undefined;
  private readonly tracked = new Map<string, Tracked>();
  private generation = 0;
  private readonly seen = new Map<ContainerFile, number>();
  private readonly missed = new Map<ContainerFile, number>();
  /** Files whose source is on during this sample (decided once per sample, not once per read). */
  private readonly enabled = new Set<ContainerFile>();

  constructor(o: ContainerMetricsOptions) {
    this.cgroupRoot = join(o.hostRoot, 'sys', 'fs', 'cgroup');
    this.node = o.node;
    this.files = o.files;
    this.gate = o.gate;
    this.logger = o.logger;
    this.names = new PodDirectory(o.hostRoot);
    this.keepOpenOption = o.keepFilesOpen;
  }

  /** The hierarchy found so far; `v1` is final, `none` is looked for again later. */
  get cgroupVersion(): CgroupVersion | undefined {
    return this.version;
  }

  sample(sink: MetricSink, nowMs: number): void {
    const kubepods = this.kubepodsPath(nowMs);
    if (kubepods === undefined) return;
    if (this.tree === undefined) this.tree = new KubepodsTree(kubepods);
    const tree = this.tree;
    this.seen.clear();
    this.missed.clear();
    this.enabled.clear();
    for (const f of CONTAINER_FILES) if (this.gate.shouldTry(`cgroup.${f}`, nowMs)) this.enabled.add(f);
    this.generation++;
    for (const pod of tree.list(nowMs)) {
      const name = this.names.pod(pod.uid, nowMs);
      const podSubject: Subject = name
        ? { kind: 'pod', node: this.node, namespace: name.namespace, pod: name.pod }
        : { kind: 'pod', node: this.node, pod: pod.uid };
      // memory.events is hierarchical: the pod's count keeps the OOM kills of containers whose cgroup is
      // already gone (the killed container is replaced by a new one with a fresh counter).
      const podEvents = this.read('memory.events', join(pod.path, 'memory.events'));
      if (podEvents !== undefined)
        sink.add('pod.memory.oom_kills', keyedValue(podEvents, 'oom_kill') ?? 0, {
          subject: podSubject,
        });
      for (const c of pod.containers) {
        let t = this.tracked.get(c.path);
        // A container first seen before its log link exists is named again until it has a name.
        if (!t || (name && t.subject.namespace === undefined) || t.subject.container === c.id.slice(0, 12)) {
          const container = this.names.container(c.id, nowMs);
          const subject: Subject = {
            ...podSubject,
            kind: 'container',
            container: container ?? c.id.slice(0, 12),
          };
          t = t ? { ...t, subject } : newTracked(c.path, subject);
          t.unnamedInNamedPod = name !== undefined && container === undefined;
          this.tracked.set(c.path, t);
        }
        t.generation = this.generation;
        if (!this.container(sink, nowMs, c.path, t)) tree.invalidate(pod.path);
      }
    }
    for (const [path, t] of this.tracked) if (t.generation !== this.generation) this.tracked.delete(path);
    this.settleSources(nowMs);
  }

  /** Samples one container; false when its cgroup is gone. */
  private container(sink: MetricSink, nowMs: number, dir: string, t: Tracked): boolean {
    const subject = t.subject;
    const current = this.number('memory.current', t.paths['memory.current']);
    // The cgroup went away since it was listed: the container ended; nothing more to read.
    if (current === undefined && !existsSync(dir)) return false;
    // The pod sandbox ("pause") has no log link, one process and a few hundred KiB. It is no workload, and
    // its 8 series per pod would only bloat the summary: skipped, as the kubelet's stats summary skips it.
    if (t.unnamedInNamedPod && current !== undefined && current < SANDBOX_MAX_BYTES) {
      const pids = this.number('pids.current', t.paths['pids.current']);
      if (pids !== undefined && pids <= 1) return true;
    }
    if (nowMs - t.limitsReadAtMs >= LIMITS_REFRESH_MS) {
      t.memoryMax = finiteCapacity(this.number('memory.max', t.paths['memory.max']));
      t.pidsMax = finiteCapacity(this.number('pids.max', t.paths['pids.max']));
      t.limitsReadAtMs = nowMs;
    }
    if (current !== undefined)
      sink.add(
        'container.memory.current_bytes',
        current,
        t.memoryMax !== undefined ? { subject, capacity: t.memoryMax } : { subject },
      );
    if (current !== undefined && nowMs - t.workingSetReadAtMs >= WORKING_SET_EVERY_MS) {
      // The first read happens at once; later ones are spread so that containers found together do not all
      // read memory.stat in the same sample.
      t.workingSetReadAtMs =
        t.workingSetReadAtMs === Number.NEGATIVE_INFINITY
          ? nowMs - Math.floor(Math.random() * WORKING_SET_EVERY_MS)
          : nowMs;
      const stat = this.read('memory.stat', t.paths['memory.stat']);
      const inactiveFile = stat === undefined ? undefined : keyedValue(stat, 'inactive_file');
      // What the kubelet evicts on and cAdvisor calls the working set: usage minus reclaimable file cache.
      if (inactiveFile !== undefined)
        sink.add(
          'container.memory.working_set_bytes',
          Math.max(0, current - inactiveFile),
          t.memoryMax !== undefined ? { subject, capacity: t.memoryMax } : { subject },
        );
    }
    const events = this.read('memory.events', t.paths['memory.events']);
    if (events !== undefined)
      sink.add('container.memory.oom_kills', keyedValue(events, 'oom_kill') ?? 0, { subject });

    const cpu = this.read('cpu.stat', t.paths['cpu.stat']);
    if (cpu !== undefined) {
      const usage = keyedValue(cpu, 'usage_usec');
      if (usage !== undefined && t.cpu.update(usage, nowMs))
        sink.add('container.cpu.cores', t.cpu.delta / 1000 / t.cpu.elapsedMs, { subject });
      // nr_periods only moves when the container has a CPU limit (a CFS quota).
      const periods = keyedValue(cpu, 'nr_periods');
      const throttled = keyedValue(cpu, 'nr_throttled');
      if (periods !== undefined && throttled !== undefined) {
        const p = t.periods.update(periods, nowMs);
        const th = t.throttled.update(throttled, nowMs);
        if (p && th) {
          const ratio = t.periods.delta > 0 ? Math.min(1, t.throttled.delta / t.periods.delta) : 0;
          sink.add('container.cpu.throttled_ratio', ratio, { subject });
        }
      }
    }

    const io = this.read('io.stat', t.paths['io.stat']);
    if (io !== undefined) {
      const b = parseIoStat(io);
      if (t.readBytes.update(b.readBytes, nowMs))
        sink.add('container.io.read_bytes_per_s', t.readBytes.rate, { subject });
      if (t.writeBytes.update(b.writeBytes, nowMs))
        sink.add('container.io.write_bytes_per_s', t.writeBytes.rate, { subject });
    }

    const pids = this.number('pids.current', t.paths['pids.current']);
    if (pids !== undefined)
      sink.add(
        'container.pids.current',
        pids,
        t.pidsMax !== undefined ? { subject, capacity: t.pidsMax } : { subject },
      );
    return true;
  }

  private read(file: ContainerFile, path: string): string | undefined {
    if (!this.enabled.has(file)) return undefined;
    const text = this.files.read(path, this.keepOpen);
    const tally = text === undefined ? this.missed : this.seen;
    tally.set(file, (tally.get(file) ?? 0) + 1);
    return text;
  }

  private number(file: ContainerFile, path: string): number | undefined {
    const text = this.read(file, path);
    return text === undefined ? undefined : parseLimit(text);
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
      this.keepOpen = this.keepOpenOption ?? isPseudoFs(this.cgroupRoot);
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

function newTracked(dir: string, subject: Subject): Tracked {
  const paths = {} as Record<ContainerFile, string>;
  for (const f of CONTAINER_FILES) paths[f] = join(dir, f);
  return {
    paths,
    subject,
    memoryMax: undefined,
    pidsMax: undefined,
    limitsReadAtMs: Number.NEGATIVE_INFINITY,
    workingSetReadAtMs: Number.NEGATIVE_INFINITY,
    unnamedInNamedPod: false,
    generation: 0,
    cpu: new CounterCell(),
    periods: new CounterCell(),
    throttled: new CounterCell(),
    readBytes: new CounterCell(),
    writeBytes: new CounterCell(),
  };
}
