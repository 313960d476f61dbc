// Node metrics from `<hostRoot>/proc` and statfs, one call per sample. Names and units are listed in
// docs/metric-collection.md.
import { join } from 'node:path';
import type { Logger } from '../../../common/log.ts';
import type { CounterDeltas } from './counter-deltas.ts';
import { type FsUsage, parseSimStatfs, statfsMount } from './filesystems.ts';
import { finiteCapacity, parseFileNr } from './kernel-tables.ts';
import { parseLoadavg } from './loadavg.ts';
import { parseMeminfo } from './meminfo.ts';
import type { MetricSink } from './metric-sink.ts';
import { diskFilesystems, type Mount, parseMounts } from './mounts.ts';
import { isNodeInterface, parseNetDev } from './net-dev.ts';
import { parsePressure } from './pressure.ts';
import { type CpuTimes, cpuShares, parseProcStat } from './proc-stat.ts';
import { parseLimit } from './small-file.ts';
import type { SourceGate } from './source-gate.ts';
import type { SourceReader } from './source-reader.ts';

const PSI_RESOURCES = ['cpu', 'memory', 'io'] as const;
/** The mount table changes rarely; re-reading it every sample would cost more than all statfs calls. */
const MOUNTS_REFRESH_MS = 60_000;

export interface NodeMetricsOptions {
  hostRoot: string;
  reader: SourceReader;
  gate: SourceGate;
  counters: CounterDeltas;
  logger: Logger;
}

export class NodeMetrics {
  private readonly proc: string;
  private readonly hostRoot: string;
  private readonly reader: SourceReader;
  private readonly gate: SourceGate;
  private readonly counters: CounterDeltas;
  private readonly logger: Logger;
  private previousCpu: CpuTimes | undefined;
  private mounts: Mount[] | undefined;
  private mountsReadAtMs = Number.NEGATIVE_INFINITY;

  constructor(o: NodeMetricsOptions) {
    this.hostRoot = o.hostRoot;
    this.proc = join(o.hostRoot, 'proc');
    this.reader = o.reader;
    this.gate = o.gate;
    this.counters = o.counters;
    this.logger = o.logger;
  }

  sample(sink: MetricSink, nowMs: number): void {
    this.cpu(sink, nowMs);
    this.memory(sink, nowMs);
    this.loadAndPids(sink, nowMs);
    this.pressure(sink, nowMs);
    this.network(sink, nowMs);
    this.files(sink, nowMs);
    this.conntrack(sink, nowMs);
    this.filesystems(sink, nowMs);
  }

  private cpu(sink: MetricSink, nowMs: number): void {
    const path = join(this.proc, 'stat');
    const text = this.reader.read('proc.stat', path, nowMs);
    if (text === undefined) return;
    const stat = parseProcStat(text);
    if (!stat) {
      this.reader.unparsable('proc.stat', path, nowMs);
      return;
    }
    const shares = this.previousCpu && cpuShares(this.previousCpu, stat.cpu);
    this.previousCpu = stat.cpu;
    if (shares) {
      sink.add('node.cpu.utilization', shares.utilization);
      sink.add('node.cpu.iowait_ratio', shares.iowait);
      sink.add('node.cpu.steal_ratio', shares.steal);
    }
    if (stat.procsRunning !== undefined) sink.add('node.procs.running', stat.procsRunning);
    if (stat.procsBlocked !== undefined) sink.add('node.procs.blocked', stat.procsBlocked);
  }

  private memory(sink: MetricSink, nowMs: number): void {
    const path = join(this.proc, 'meminfo');
    const text = this.reader.read('proc.meminfo', path, nowMs);
    if (text === undefined) return;
    const m = parseMeminfo(text);
    if (!m) {
      this.reader.unparsable('proc.meminfo', path, nowMs);
      return;
    }
    sink.add('node.memory.used_bytes', m.totalBytes - m.availableBytes, { capacity: m.totalBytes });
    sink.add('node.memory.available_bytes', m.availableBytes);
    if (m.swapTotalBytes > 0)
      sink.add('node.swap.used_bytes', m.swapTotalBytes - m.swapFreeBytes, { capacity: m.swapTotalBytes });
  }

  private loadAndPids(sink: MetricSink, nowMs: number): void {
    const path = join(this.proc, 'loadavg');
    const text = this.reader.read('proc.loadavg', path, nowMs);
    if (text === undefined) return;
    const l = parseLoadavg(text);
    if (!l) {
      this.reader.unparsable('proc.loadavg', path, nowMs);
      return;
    }
    sink.add('node.load.1m', l.load1);
    sink.add('node.load.5m', l.load5);
    sink.add('node.load.15m', l.load15);
    if (!Number.isFinite(l.threads)) return;
    // Threads are what run out: each takes a pid, and the kernel caps them at min(pid_max, threads-max),
    // as the kubelet's PID-pressure eviction does.
    const pidMax = this.number('proc.sys.kernel.pid_max', join(this.proc, 'sys', 'kernel', 'pid_max'), nowMs);
    const threadsMax = this.number(
      'proc.sys.kernel.threads-max',
      join(this.proc, 'sys', 'kernel', 'threads-max'),
      nowMs,
    );
    const limits = [pidMax, threadsMax].filter((x): x is number => x !== undefined);
    const capacity = finiteCapacity(limits.length > 0 ? Math.min(...limits) : undefined);
    sink.add('node.pids.current', l.threads, capacity !== undefined ? { capacity } : {});
  }

  private pressure(sink: MetricSink, nowMs: number): void {
    for (const resource of PSI_RESOURCES) {
      const source = `proc.pressure.${resource}`;
      const text = this.reader.read(source, join(this.proc, 'pressure', resource), nowMs);
      if (text === undefined) continue;
      const p = parsePressure(text);
      for (const kind of ['some', 'full'] as const) {
        const line = p[kind];
        // System-wide cpu "full" is always zero (the kernel prints it only for a uniform format).
        if (!line || (resource === 'cpu' && kind === 'full')) continue;
        sink.add(`node.psi.${resource}.${kind}_avg10`, line.avg10);
        const d = this.counters.delta(`psi.${resource}.${kind}`, line.totalUsec, nowMs);
        if (d)
          sink.add(`node.psi.${resource}.${kind}_stalled_ratio`, Math.min(1, d.delta / 1000 / d.elapsedMs));
      }
    }
  }

  private network(sink: MetricSink, nowMs: number): void {
    const text = this.reader.read('proc.net.dev', join(this.proc, 'net', 'dev'), nowMs);
    if (text === undefined) return;
    for (const i of parseNetDev(text)) {
      if (!isNodeInterface(i.name)) continue;
      const labels = { interface: i.name };
      const rate = (what: string, value: number) => {
        const r = this.counters.rate(`net.${i.name}.${what}`, value, nowMs);
        if (r !== undefined) sink.add(`node.net.${what}_per_s`, r, { labels });
      };
      rate('rx_bytes', i.rxBytes);
      rate('tx_bytes', i.txBytes);
      rate('rx_errors', i.rxErrors);
      rate('tx_errors', i.txErrors);
      rate('rx_drops', i.rxDrops);
      rate('tx_drops', i.txDrops);
    }
  }

  private files(sink: MetricSink, nowMs: number): void {
    const path = join(this.proc, 'sys', 'fs', 'file-nr');
    const text = this.reader.read('proc.sys.fs.file-nr', path, nowMs);
    if (text === undefined) return;
    const f = parseFileNr(text);
    if (!f) {
      this.reader.unparsable('proc.sys.fs.file-nr', path, nowMs);
      return;
    }
    const capacity = finiteCapacity(f.max);
    sink.add('node.fd.allocated', f.allocated - f.free, capacity !== undefined ? { capacity } : {});
  }

  private conntrack(sink: MetricSink, nowMs: number): void {
    const dir = join(this.proc, 'sys', 'net', 'netfilter');
    const count = this.number('conntrack', join(dir, 'nf_conntrack_count'), nowMs);
    if (count === undefined) return;
    const capacity = finiteCapacity(this.number('conntrack.max', join(dir, 'nf_conntrack_max'), nowMs));
    sink.add('node.conntrack.entries', count, capacity !== undefined ? { capacity } : {});
  }

  private filesystems(sink: MetricSink, nowMs: number): void {
    for (const u of this.fsUsages(nowMs)) {
      const labels = { mount: u.mountPoint };
      sink.add('node.fs.used_bytes', u.usedBytes, { labels, capacity: u.capacityBytes });
      sink.add('node.fs.available_bytes', u.availableBytes, { labels });
      if (u.inodesTotal > 0)
        sink.add('node.fs.inodes_used', u.inodesUsed, { labels, capacity: u.inodesTotal });
    }
  }

  private fsUsages(nowMs: number): FsUsage[] {
    const simPath = join(this.hostRoot, '.sim', 'statfs.json');
    if (this.mounts === undefined || this.mounts.length === 0) {
      // A simulated node: statfs.json stands in for statfs(2). Read without the gate: its absence is normal.
      const simText = this.reader.readOptional(simPath);
      if (simText !== undefined) {
        try {
          return parseSimStatfs(simText);
        } catch (error) {
          this.reader.unparsable('sim.statfs', simPath, nowMs);
          this.logger.debug({ err: error }, 'bad statfs.json');
          return [];
        }
      }
    }
    const mounts = this.diskMounts(nowMs);
    const out: FsUsage[] = [];
    for (const m of mounts) {
      // A mount point that cannot be stat'ed is warned about once and retried only now and then.
      const source = `statfs:${m.mountPoint}`;
      if (!this.gate.shouldTry(source, nowMs)) continue;
      const r = statfsMount(this.hostRoot, m.mountPoint, m.type);
      if (r.usage) {
        out.push(r.usage);
        this.gate.ok(source);
      } else
        this.gate.fail(
          source,
          nowMs,
          { mount: m.mountPoint, path: join(this.hostRoot, m.mountPoint), error: r.error },
          'statfs failed; that filesystem is not watched',
        );
    }
    return out;
  }

  private diskMounts(nowMs: number): Mount[] {
    if (this.mounts !== undefined && nowMs - this.mountsReadAtMs < MOUNTS_REFRESH_MS) return this.mounts;
    this.mountsReadAtMs = nowMs;
    // init's table is the host's even from inside the agent's container; /proc/mounts is the fallback.
    const text =
      this.reader.readOptional(join(this.proc, '1', 'mounts')) ??
      this.reader.read('proc.mounts', join(this.proc, 'mounts'), nowMs);
    this.mounts = text === undefined ? [] : diskFilesystems(parseMounts(text));
    return this.mounts;
  }

  private number(source: string, path: string, nowMs: number): number | undefined {
    const text = this.reader.read(source, path, nowMs);
    if (text === undefined) return undefined;
    const n = parseLimit(text);
    if (n === undefined) this.reader.unparsable(source, path, nowMs);
    return n;
  }
}
