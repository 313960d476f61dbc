// /proc/stat: the aggregate `cpu` line (jiffies since boot per state) and the run-queue gauges. CPU shares
// come from the difference of two readings.

export interface CpuTimes {
  user: number;
  nice: number;
  system: number;
  idle: number;
  iowait: number;
  irq: number;
  softirq: number;
  steal: number;
}

export interface ProcStat {
  cpu: CpuTimes;
  /** Number of `cpuN` lines: the CPUs online. */
  cpus: number;
  procsRunning: number | undefined;
  procsBlocked: number | undefined;
}

export interface CpuShares {
  /** Busy share 0..1: everything but idle and iowait. */
  utilization: number;
  iowait: number;
  steal: number;
}

export function parseProcStat(text: string): ProcStat | undefined {
  let cpu: CpuTimes | undefined;
  let cpus = 0;
  let procsRunning: number | undefined;
  let procsBlocked: number | undefined;
  for (const line of text.split('\n')) {
    if (line.startsWith('cpu ')) {
      const f = line.split(/\s+/);
      const n = (i: number) => Number(f[i] ?? 0) || 0;
      // guest and guest_nice (fields 9, 10) are already counted in user and nice.
      cpu = {
        user: n(1),
        nice: n(2),
        system: n(3),
        idle: n(4),
        iowait: n(5),
        irq: n(6),
        softirq: n(7),
        steal: n(8),
      };
    } else if (line.startsWith('cpu')) cpus++;
    else if (line.startsWith('procs_running ')) procsRunning = Number(line.slice(14));
    else if (line.startsWith('procs_blocked ')) procsBlocked = Number(line.slice(14));
  }
  return cpu && { cpu, cpus, procsRunning, procsBlocked };
}

function total(c: CpuTimes): number {
  return c.user + c.nice + c.system + c.idle + c.iowait + c.irq + c.softirq + c.steal;
}

/**
 * Shares of the interval between two readings, or undefined when no time passed or a counter went back
 * (iowait may decrease on some kernels: the reading pair is then skipped, not clamped into nonsense).
 */
export function cpuShares(before: CpuTimes, after: CpuTimes): CpuShares | undefined {
  const dt = total(after) - total(before);
  if (!(dt > 0)) return undefined;
  const d = {
    idle: after.idle - before.idle,
    iowait: after.iowait - before.iowait,
    steal: after.steal - before.steal,
  };
  if (d.idle < 0 || d.iowait < 0 || d.steal < 0) return undefined;
  return {
    utilization: clamp01(1 - (d.idle + d.iowait) / dt),
    iowait: clamp01(d.iowait / dt),
    steal: clamp01(d.steal / dt),
  };
}

function clamp01(x: number): number {
  return Math.max(0, Math.min(1, x));
}
