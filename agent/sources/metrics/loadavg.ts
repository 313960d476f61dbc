// /proc/loadavg: `0.52 0.58 0.59 3/1234 56789` — load averages, runnable/total scheduling entities
// (threads), last pid.

export interface Loadavg {
  load1: number;
  load5: number;
  load15: number;
  runnable: number;
  /** Threads on the system: what counts against kernel.pid_max and kernel.threads-max. */
  threads: number;
}

export function parseLoadavg(text: string): Loadavg | undefined {
  const f = text.trim().split(/\s+/);
  const [runnable, threads] = (f[3] ?? '').split('/').map(Number);
  const out = {
    load1: Number(f[0]),
    load5: Number(f[1]),
    load15: Number(f[2]),
    runnable: runnable ?? Number.NaN,
    threads: threads ?? Number.NaN,
  };
  return Number.isFinite(out.load1) && Number.isFinite(out.load5) && Number.isFinite(out.load15)
    ? out
    : undefined;
}
