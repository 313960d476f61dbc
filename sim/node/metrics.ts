// Real-format metric sources for one node, written atomically about once a second under `<root>/<node>/`:
// proc/{meminfo,stat,loadavg,pressure/*,net/dev,sys/fs/file-nr}, the kernel limits (sys/kernel/pid_max,
// threads-max, sys/net/netfilter/nf_conntrack_{count,max}), a cgroup v2 tree for the pods (kubepods.slice/...,
// memory.stat and pids.max included), and `.sim/statfs.json` standing in for statfs(2), which cannot
// be faked through files (fields as Node's fs.statfs returns them, keyed by mount point).
import { join } from 'node:path';
import type { PodRuntime } from '../controllers/runtime.ts';
import type { AtomicWriter } from './atomic.ts';
import type { NodeModel } from './model.ts';

const KB = 1024;
const USER_HZ = 100;

interface CpuTimes {
  user: number;
  nice: number;
  system: number;
  idle: number;
  iowait: number;
  irq: number;
  softirq: number;
  steal: number;
}

export function podSlicePath(nodeRoot: string, pod: Pick<PodRuntime, 'uid' | 'qosClass'>): string {
  const uid = pod.uid.replace(/-/g, '_');
  const base = join(nodeRoot, 'sys', 'fs', 'cgroup', 'kubepods.slice');
  if (pod.qosClass === 'Guaranteed') return join(base, `kubepods-pod${uid}.slice`);
  const qos = pod.qosClass === 'BestEffort' ? 'besteffort' : 'burstable';
  return join(base, `kubepods-${qos}.slice`, `kubepods-${qos}-pod${uid}.slice`);
}

export function containerScopePath(
  nodeRoot: string,
  pod: Pick<PodRuntime, 'uid' | 'qosClass'>,
  containerId: string,
): string {
  return join(podSlicePath(nodeRoot, pod), `cri-containerd-${containerId}.scope`);
}

function psiLine(kind: string, avg10: number, avg60: number, avg300: number, total: number): string {
  return `${kind} avg10=${avg10.toFixed(2)} avg60=${avg60.toFixed(2)} avg300=${avg300.toFixed(2)} total=${Math.round(total)}`;
}

class Ewma {
  v10 = 0;
  v60 = 0;
  v300 = 0;
  total = 0;
  update(value: number, dtS: number): void {
    const a = (window: number) => 1 - Math.exp(-dtS / window);
    this.v10 += (value - this.v10) * a(10);
    this.v60 += (value - this.v60) * a(60);
    this.v300 += (value - this.v300) * a(300);
  }
}

export class NodeMetricsWriter {
  private readonly root: string;
  private readonly model: NodeModel;
  private readonly writer: AtomicWriter;
  private readonly cpu: CpuTimes[];
  private readonly load = new Ewma();
  private readonly load5 = { v: 0 };
  private readonly load15 = { v: 0 };
  private readonly psiCpu = new Ewma();
  private readonly psiMem = new Ewma();
  private readonly psiIo = new Ewma();
  private net = { rxBytes: 0, rxPackets: 0, txBytes: 0, txPackets: 0 };
  private ctxt = 0;
  private processes = 4000;
  private readonly bootS: number;
  private readonly scopes = new Set<string>();
  private readonly podIo = new Map<string, { r: number; w: number }>();
  private limitsWritten = false;

  constructor(nodeRoot: string, model: NodeModel, writer: AtomicWriter, wallMs: number) {
    this.root = nodeRoot;
    this.model = model;
    this.writer = writer;
    this.cpu = Array.from({ length: model.cpus }, () => ({
      user: 0,
      nice: 0,
      system: 0,
      idle: 0,
      iowait: 0,
      irq: 0,
      softirq: 0,
      steal: 0,
    }));
    this.bootS = Math.floor(wallMs / 1000) - 86_400 * (3 + model.index);
    // Start counters from plausible uptime values rather than zero.
    for (const c of this.cpu) {
      c.idle = 20_000_000 + model.index * 1000;
      c.user = 3_000_000;
      c.system = 1_000_000;
    }
  }

  private p(...parts: string[]): string {
    return join(this.root, ...parts);
  }

  /** Advances counters by `dtS` simulated seconds of activity and rewrites the files. */
  write(pods: readonly PodRuntime[], dtS: number, diskWriteBytesPerS: number): void {
    const m = this.model;
    if (m.kubeletStopped) {
      // The machine still exists but its kubelet is down; keep its files as they were.
      return;
    }
    let podMem = 0;
    let podCpu = 0;
    for (const p of pods) {
      for (const c of p.containers) {
        if (c.phase !== 'running') continue;
        podMem += c.memoryBytes;
        podCpu += c.cpuMillicores / 1000;
      }
    }
    const busy = Math.min(m.cpus, 0.15 * m.cpus + podCpu + m.extraLoad);
    const util = busy / m.cpus;
    const iowaitShare = Math.min(0.3, diskWriteBytesPerS / (200 * 1024 * 1024));
    for (const c of this.cpu) {
      const jiffies = dtS * USER_HZ;
      c.user += Math.round(jiffies * util * 0.7);
      c.system += Math.round(jiffies * util * 0.25);
      c.softirq += Math.round(jiffies * util * 0.05);
      c.iowait += Math.round(jiffies * iowaitShare);
      c.idle += Math.round(jiffies * Math.max(0, 1 - util - iowaitShare));
    }
    this.ctxt += Math.round(dtS * (2000 + podCpu * 5000));
    this.processes += Math.round(dtS * 3);
    const running = busy;
    this.load.update(running, dtS);
    this.load5.v += (running - this.load5.v) * (1 - Math.exp(-dtS / 300));
    this.load15.v += (running - this.load15.v) * (1 - Math.exp(-dtS / 900));

    const used = m.systemMemoryBytes + podMem;
    const memFree = Math.max(64 * 2 ** 20, m.memoryBytes - used - Math.round(m.memoryBytes * 0.2));
    const cached = Math.max(0, Math.round(m.memoryBytes * 0.2));
    const available = Math.max(0, m.memoryBytes - used);
    const memPressure = Math.max(0, used / m.memoryBytes - 0.85) * 400;
    const cpuPressure = Math.max(0, util - 0.7) * 200;
    const ioPressure = iowaitShare * 100;
    this.psiCpu.update(cpuPressure, dtS);
    this.psiCpu.total += cpuPressure * dtS * 10_000;
    this.psiMem.update(Math.min(100, memPressure), dtS);
    this.psiMem.total += memPressure * dtS * 10_000;
    this.psiIo.update(ioPressure, dtS);
    this.psiIo.total += ioPressure * dtS * 10_000;

    const rate = 50_000 + podCpu * 2_000_000;
    this.net.rxBytes += Math.round(rate * dtS);
    this.net.txBytes += Math.round(rate * 0.8 * dtS);
    this.net.rxPackets += Math.round((rate / 800) * dtS);
    this.net.txPackets += Math.round((rate / 900) * dtS);

    const w = this.writer;
    const kb = (b: number) => `${String(Math.round(b / KB)).padStart(8)} kB`;
    w.write(
      this.p('proc', 'meminfo'),
      [
        `MemTotal:       ${kb(m.memoryBytes)}`,
        `MemFree:        ${kb(memFree)}`,
        `MemAvailable:   ${kb(available)}`,
        `Buffers:        ${kb(m.memoryBytes * 0.02)}`,
        `Cached:         ${kb(cached)}`,
        `SwapCached:     ${kb(0)}`,
        `Active:         ${kb(used * 0.6)}`,
        `Inactive:       ${kb(used * 0.3)}`,
        `Shmem:          ${kb(m.memoryBytes * 0.01)}`,
        `Slab:           ${kb(m.memoryBytes * 0.03)}`,
        `SReclaimable:   ${kb(m.memoryBytes * 0.02)}`,
        `SUnreclaim:     ${kb(m.memoryBytes * 0.01)}`,
        `SwapTotal:      ${kb(0)}`,
        `SwapFree:       ${kb(0)}`,
        `Dirty:          ${kb(diskWriteBytesPerS)}`,
        `Writeback:      ${kb(0)}`,
        `AnonPages:      ${kb(podMem)}`,
        `Mapped:         ${kb(m.memoryBytes * 0.04)}`,
        `Committed_AS:   ${kb(used * 1.3)}`,
        `HugePages_Total:       0`,
        `HugePages_Free:        0`,
        `Hugepagesize:       2048 kB`,
        '',
      ].join('\n'),
    );
    const cpuLine = (name: string, c: CpuTimes) =>
      `${name} ${c.user} ${c.nice} ${c.system} ${c.idle} ${c.iowait} ${c.irq} ${c.softirq} ${c.steal} 0 0`;
    const sum = this.cpu.reduce(
      (a, c) => ({
        user: a.user + c.user,
        nice: a.nice + c.nice,
        system: a.system + c.system,
        idle: a.idle + c.idle,
        iowait: a.iowait + c.iowait,
        irq: a.irq + c.irq,
        softirq: a.softirq + c.softirq,
        steal: a.steal + c.steal,
      }),
      { user: 0, nice: 0, system: 0, idle: 0, iowait: 0, irq: 0, softirq: 0, steal: 0 },
    );
    w.write(
      this.p('proc', 'stat'),
      [
        cpuLine('cpu ', sum),
        ...this.cpu.map((c, i) => cpuLine(`cpu${i}`, c)),
        `intr ${this.ctxt * 2}`,
        `ctxt ${this.ctxt}`,
        `btime ${this.bootS}`,
        `processes ${this.processes}`,
        `procs_running ${Math.max(1, Math.round(busy))}`,
        'procs_blocked 0',
        'softirq 0 0 0 0 0 0 0 0 0 0 0',
        '',
      ].join('\n'),
    );
    w.write(
      this.p('proc', 'loadavg'),
      `${this.load.v60.toFixed(2)} ${this.load5.v.toFixed(2)} ${this.load15.v.toFixed(2)} ${Math.max(1, Math.round(busy))}/${600 + pods.length * 12} ${this.processes}\n`,
    );
    const psi = (e: Ewma, full: boolean) =>
      `${psiLine('some', e.v10, e.v60, e.v300, e.total)}\n${psiLine('full', full ? e.v10 * 0.6 : 0, full ? e.v60 * 0.6 : 0, full ? e.v300 * 0.6 : 0, full ? e.total * 0.6 : 0)}\n`;
    w.write(this.p('proc', 'pressure', 'cpu'), psi(this.psiCpu, false));
    w.write(this.p('proc', 'pressure', 'memory'), psi(this.psiMem, true));
    w.write(this.p('proc', 'pressure', 'io'), psi(this.psiIo, true));
    w.write(this.p('proc', 'sys', 'fs', 'file-nr'), `${2400 + pods.length * 90}\t0\t9223372036854775807\n`);
    if (!this.limitsWritten) {
      // Kernel limits a real node has; written once (they do not change while it runs).
      w.write(this.p('proc', 'sys', 'kernel', 'pid_max'), '4194304\n');
      // The kernel's default: one thread per 128 KiB of RAM (8 stacks of 16 KiB).
      w.write(this.p('proc', 'sys', 'kernel', 'threads-max'), `${Math.floor(m.memoryBytes / 131072)}\n`);
      w.write(this.p('proc', 'sys', 'net', 'netfilter', 'nf_conntrack_max'), '262144\n');
      this.limitsWritten = true;
    }
    w.write(this.p('proc', 'sys', 'net', 'netfilter', 'nf_conntrack_count'), `${150 + pods.length * 40}\n`);
    const n = this.net;
    w.write(
      this.p('proc', 'net', 'dev'),
      [
        'Inter-|   Receive                                                |  Transmit',
        ' face |bytes    packets errs drop fifo frame compressed multicast|bytes    packets errs drop fifo colls carrier compressed',
        `    lo: ${Math.round(n.rxBytes * 0.1)} ${Math.round(n.rxPackets * 0.1)} 0 0 0 0 0 0 ${Math.round(n.rxBytes * 0.1)} ${Math.round(n.rxPackets * 0.1)} 0 0 0 0 0 0`,
        `  eth0: ${n.rxBytes} ${n.rxPackets} 0 0 0 0 0 0 ${n.txBytes} ${n.txPackets} 0 0 0 0 0 0`,
        '',
      ].join('\n'),
    );
    const bsize = 4096;
    const blocks = Math.floor(m.diskBytes / bsize);
    const bfree = Math.max(0, Math.floor((m.diskBytes - m.diskUsedBytes) / bsize));
    w.write(
      this.p('.sim', 'statfs.json'),
      `${JSON.stringify({
        '/': {
          type: 0xef53,
          bsize,
          blocks,
          bfree,
          // ext4 reserves 5% for root; bavail is what unprivileged writers can still use.
          bavail: Math.max(0, bfree - Math.floor(blocks * 0.05)),
          files: 6_553_600,
          ffree: 6_553_600 - 250_000 - pods.length * 500,
        },
      })}\n`,
    );
    this.writeCgroups(pods, dtS);
  }

  private writeCgroups(pods: readonly PodRuntime[], dtS: number): void {
    const w = this.writer;
    const live = new Set<string>();
    for (const p of pods) {
      const slice = podSlicePath(this.root, p);
      live.add(slice);
      let sliceMem = 0;
      let sliceOom = 0;
      let sliceCpu = 0;
      const io = this.podIo.get(p.uid) ?? { r: 0, w: 0 };
      io.r += Math.round(dtS * 4096 * 3);
      io.w += Math.round(dtS * 4096 * 8);
      this.podIo.set(p.uid, io);
      for (const c of p.containers) {
        sliceOom += c.oomKills;
        sliceCpu += c.cpuUsageUsec;
        if (c.phase !== 'running') continue;
        sliceMem += c.memoryBytes;
        const scope = containerScopePath(this.root, p, c.id);
        live.add(scope);
        this.scopes.add(scope);
        w.write(join(scope, 'memory.current'), `${c.memoryBytes}\n`);
        w.write(
          join(scope, 'memory.max'),
          c.limitBytes >= this.model.memoryBytes ? 'max\n' : `${c.limitBytes}\n`,
        );
        w.write(
          join(scope, 'memory.events'),
          `low 0\nhigh 0\nmax ${c.oomKills * 3}\noom ${c.oomKills}\noom_kill ${c.oomKills}\noom_group_kill 0\n`,
        );
        w.write(
          join(scope, 'cpu.stat'),
          `usage_usec ${c.cpuUsageUsec}\nuser_usec ${Math.round(c.cpuUsageUsec * 0.8)}\nsystem_usec ${Math.round(c.cpuUsageUsec * 0.2)}\nnr_periods 0\nnr_throttled 0\nthrottled_usec 0\nnr_bursts 0\nburst_usec 0\n`,
        );
        w.write(
          join(scope, 'io.stat'),
          `8:0 rbytes=${io.r} wbytes=${io.w} rios=${Math.round(io.r / 4096)} wios=${Math.round(io.w / 4096)} dbytes=0 dios=0\n`,
        );
        w.write(join(scope, 'pids.current'), `${4 + (c.name.length % 5)}\n`);
        w.write(join(scope, 'pids.max'), 'max\n');
        // A fifth of the usage is page cache, 8 % of it reclaimable (what the kubelet's working set leaves out).
        const file = Math.round(c.memoryBytes * 0.2);
        w.write(
          join(scope, 'memory.stat'),
          `anon ${c.memoryBytes - file}\nfile ${file}\nkernel 0\nshmem 0\nactive_anon ${c.memoryBytes - file}\ninactive_anon 0\nactive_file ${file - Math.round(c.memoryBytes * 0.08)}\ninactive_file ${Math.round(c.memoryBytes * 0.08)}\n`,
        );
      }
      w.write(join(slice, 'memory.current'), `${sliceMem}\n`);
      w.write(
        join(slice, 'memory.events'),
        `low 0\nhigh 0\nmax ${sliceOom * 3}\noom ${sliceOom}\noom_kill ${sliceOom}\noom_group_kill 0\n`,
      );
      w.write(
        join(slice, 'cpu.stat'),
        `usage_usec ${sliceCpu}\nuser_usec ${Math.round(sliceCpu * 0.8)}\nsystem_usec ${Math.round(sliceCpu * 0.2)}\n`,
      );
    }
    // Scopes of exited containers and slices of deleted pods disappear, as cgroups do.
    for (const s of [...this.scopes]) {
      if (live.has(s)) continue;
      this.writer.remove(s);
      this.scopes.delete(s);
      const slice = s.slice(0, s.lastIndexOf('/'));
      if (!live.has(slice)) this.writer.remove(slice);
    }
  }
}
