import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { finiteCapacity, parseFileNr } from '../../../agent/sources/metrics/kernel-tables.ts';
import { parseLoadavg } from '../../../agent/sources/metrics/loadavg.ts';
import { parseMeminfo } from '../../../agent/sources/metrics/meminfo.ts';
import { isNodeInterface, parseNetDev } from '../../../agent/sources/metrics/net-dev.ts';
import { parsePressure } from '../../../agent/sources/metrics/pressure.ts';
import { cpuShares, parseProcStat } from '../../../agent/sources/metrics/proc-stat.ts';

const FIXTURES = join(import.meta.dirname, '../../fixtures/proc');
const real = (p: string) => readFileSync(join(FIXTURES, 'real-host/proc', p), 'latin1');
const built = (p: string) => readFileSync(join(FIXTURES, 'k8s-node-v2/proc', p), 'latin1');

describe('/proc/stat', () => {
  it('reads the aggregate cpu line and counts the CPUs of a real host', () => {
    const s = parseProcStat(real('stat'));
    expect(s?.cpus).toBe(2);
    expect(s?.cpu.user).toBeGreaterThan(0);
    expect(s?.cpu.idle).toBeGreaterThan(0);
    expect(s?.procsRunning).toBeGreaterThanOrEqual(0);
  });

  it('reads every state column and the run-queue gauges', () => {
    const s = parseProcStat(built('stat'));
    expect(s).toEqual({
      cpu: { user: 1000, nice: 10, system: 500, idle: 8000, iowait: 200, irq: 0, softirq: 50, steal: 100 },
      cpus: 2,
      procsRunning: 3,
      procsBlocked: 1,
    });
  });

  it('returns undefined for a text with no cpu line', () => {
    expect(parseProcStat('intr 1\nctxt 2\n')).toBeUndefined();
  });

  it('computes utilisation, iowait and steal from the difference of two readings', () => {
    const before = { user: 100, nice: 0, system: 50, idle: 800, iowait: 20, irq: 0, softirq: 10, steal: 20 };
    // 100 jiffies pass: 40 user, 10 system, 40 idle, 5 iowait, 5 steal.
    const after = { ...before, user: 140, system: 60, idle: 840, iowait: 25, steal: 25 };
    const s = cpuShares(before, after);
    expect(s?.utilization).toBeCloseTo(0.55, 10);
    expect(s?.iowait).toBeCloseTo(0.05, 10);
    expect(s?.steal).toBeCloseTo(0.05, 10);
  });

  it('skips a reading pair in which a counter went back instead of reporting nonsense', () => {
    const before = { user: 100, nice: 0, system: 50, idle: 800, iowait: 20, irq: 0, softirq: 10, steal: 0 };
    expect(cpuShares(before, { ...before, user: 200, iowait: 10 })).toBeUndefined();
    expect(cpuShares(before, before)).toBeUndefined();
  });
});

describe('/proc/meminfo', () => {
  it('gives total, available and swap in bytes', () => {
    expect(parseMeminfo(built('meminfo'))).toEqual({
      totalBytes: 16_384_000 * 1024,
      availableBytes: 6_144_000 * 1024,
      swapTotalBytes: 2_097_152 * 1024,
      swapFreeBytes: 1_048_576 * 1024,
    });
  });

  it('reads a real host', () => {
    const m = parseMeminfo(real('meminfo'));
    expect(m?.totalBytes).toBeGreaterThan(0);
    expect(m?.availableBytes).toBeLessThanOrEqual(m?.totalBytes ?? 0);
  });

  it('estimates available memory on kernels without MemAvailable', () => {
    const m = parseMeminfo('MemTotal: 1000 kB\nMemFree: 100 kB\nBuffers: 50 kB\nCached: 200 kB\n');
    expect(m?.availableBytes).toBe(350 * 1024);
  });

  it('returns undefined without MemTotal', () => {
    expect(parseMeminfo('MemFree: 100 kB\n')).toBeUndefined();
  });
});

describe('/proc/loadavg', () => {
  it('reads the averages and the thread count', () => {
    expect(parseLoadavg(built('loadavg'))).toEqual({
      load1: 1.5,
      load5: 1.2,
      load15: 0.9,
      runnable: 3,
      threads: 1234,
    });
    expect(parseLoadavg(real('loadavg'))?.threads).toBeGreaterThan(0);
  });

  it('rejects garbage', () => {
    expect(parseLoadavg('hello')).toBeUndefined();
  });
});

describe('/proc/pressure', () => {
  it('reads some and full lines', () => {
    expect(parsePressure(built('pressure/memory'))).toEqual({
      some: { avg10: 12.34, avg60: 5, avg300: 1, totalUsec: 2_000_000 },
      full: { avg10: 4.56, avg60: 2, avg300: 0.5, totalUsec: 800_000 },
    });
  });

  it('accepts the cpu file of kernels that print only a some line', () => {
    const p = parsePressure('some avg10=1.00 avg60=0.50 avg300=0.10 total=42\n');
    expect(p.some?.totalUsec).toBe(42);
    expect(p.full).toBeUndefined();
  });

  it('reads a real host', () => {
    expect(parsePressure(real('pressure/io')).some).toBeDefined();
  });
});

describe('/proc/net/dev', () => {
  it('reads counters per interface, skipping the headers', () => {
    const ifs = parseNetDev(built('net/dev'));
    expect(ifs.map((i) => i.name)).toEqual(['lo', 'eth0', 'cni0', 'veth1a2b3c', 'cali12345']);
    expect(ifs[1]).toEqual({
      name: 'eth0',
      rxBytes: 1_000_000,
      rxPackets: 10_000,
      rxErrors: 3,
      rxDrops: 7,
      txBytes: 2_000_000,
      txPackets: 20_000,
      txErrors: 1,
      txDrops: 2,
    });
    expect(parseNetDev(real('net/dev')).some((i) => i.name === 'lo')).toBe(true);
  });

  it('keeps node interfaces and leaves out loopback and per-pod virtual ones', () => {
    expect(['eth0', 'ens5', 'cni0', 'flannel.1', 'docker0'].every(isNodeInterface)).toBe(true);
    expect(['lo', 'veth1a2b3c', 'cali12345', 'lxc0a1b', 'ifb0'].some(isNodeInterface)).toBe(false);
  });
});

describe('kernel tables', () => {
  it('reads file-nr and treats LONG_MAX as no limit', () => {
    const f = parseFileNr(built('sys/fs/file-nr'));
    expect(f?.allocated).toBe(3200);
    expect(finiteCapacity(f?.max)).toBeUndefined();
    expect(finiteCapacity(65536)).toBe(65536);
    expect(finiteCapacity(Number.POSITIVE_INFINITY)).toBeUndefined();
    expect(parseFileNr('x y z')).toBeUndefined();
  });
});
