// Node metrics through `systeminformation` (CPU, memory, load, disks, network). Cheap series are sampled
// every second; disks and network (df runs a process) once per window.
import { loadavg } from 'node:os';
import si from 'systeminformation';
import type { Logger } from '../../../common/log.ts';
import type { DigestAccumulator } from '../../summarize/digest.ts';

export class SystemMetrics {
  private readonly digests: DigestAccumulator;
  private readonly logger: Logger;
  private failed = new Set<string>();

  constructor(digests: DigestAccumulator, logger: Logger) {
    this.digests = digests;
    this.logger = logger;
  }

  /** CPU, memory, swap and load. */
  async sampleFast(): Promise<void> {
    const [cpu, mem] = await Promise.all([
      this.guard('cpu', () => si.currentLoad()),
      this.guard('memory', () => si.mem()),
    ]);
    if (cpu) this.digests.add('node.cpu.utilization', cpu.currentLoad / 100);
    if (mem) {
      this.digests.add('node.memory.used_bytes', mem.total - mem.available, { capacity: mem.total });
      this.digests.add('node.memory.available_bytes', mem.available);
      if (mem.swaptotal > 0)
        this.digests.add('node.swap.used_bytes', mem.swapused, { capacity: mem.swaptotal });
    }
    const [l1, l5, l15] = loadavg();
    this.digests.add('node.load.1m', l1 ?? 0);
    this.digests.add('node.load.5m', l5 ?? 0);
    this.digests.add('node.load.15m', l15 ?? 0);
  }

  /** Filesystems and network interfaces. */
  async sampleSlow(): Promise<void> {
    const [disks, nets] = await Promise.all([
      this.guard('disks', () => si.fsSize()),
      this.guard('network', () => si.networkStats('*')),
    ]);
    for (const d of disks ?? []) {
      if (!d.size) continue;
      this.digests.add('node.fs.used_bytes', d.used, { labels: { mount: d.mount }, capacity: d.size });
    }
    for (const n of nets ?? []) {
      const labels = { interface: n.iface };
      if (n.rx_sec != null && n.rx_sec >= 0)
        this.digests.add('node.net.rx_bytes_per_s', n.rx_sec, { labels });
      if (n.tx_sec != null && n.tx_sec >= 0)
        this.digests.add('node.net.tx_bytes_per_s', n.tx_sec, { labels });
      this.digests.add('node.net.errors', n.rx_errors + n.tx_errors, { labels });
      this.digests.add('node.net.drops', n.rx_dropped + n.tx_dropped, { labels });
    }
  }

  /** A source that fails is logged once and skipped, never fatal. */
  private async guard<T>(what: string, fn: () => Promise<T>): Promise<T | undefined> {
    try {
      return await fn();
    } catch (error) {
      if (!this.failed.has(what)) {
        this.failed.add(what);
        this.logger.warn({ err: error, source: what }, 'node metric source failed; skipping it');
      }
      return undefined;
    }
  }
}
