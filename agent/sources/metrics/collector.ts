// The metric collector: node metrics from `<hostRoot>/proc` and statfs, container metrics from the cgroup v2
// tree, each sample written to a sink (the window's DigestAccumulator). Synchronous and cheap by design:
// small files into one reused buffer, no child processes, no allocation that grows with time.
import { join } from 'node:path';
import type { Logger } from '../../../common/log.ts';
import type { CgroupVersion } from './cgroup-version.ts';
import { ContainerMetrics } from './container-metrics.ts';
import { CounterDeltas } from './counter-deltas.ts';
import type { MetricSink } from './metric-sink.ts';
import { NodeMetrics } from './node-metrics.ts';
import { isPseudoFs } from './pseudo-fs.ts';
import { SmallFileReader } from './small-file.ts';
import { SourceGate } from './source-gate.ts';
import { SourceReader } from './source-reader.ts';

export interface MetricCollectorOptions {
  /** Where the host filesystem is mounted (`/` on the host itself, `/host` in the DaemonSet, a sim node dir). */
  hostRoot: string;
  /** Node name put on container and pod subjects. */
  node: string;
  logger: Logger;
  /** Switch container metrics off (node metrics only). */
  containers?: boolean;
  /** How long a missing source stays off before it is quietly tried again. */
  retryMs?: number;
  /**
   * Keep files open between samples and re-read them with pread (1 system call per read instead of 4).
   * Default: only for files on procfs and cgroup2; never for a simulated node, whose files are replaced by
   * rename (an open descriptor would keep reading the old file).
   */
  keepFilesOpen?: boolean;
}

export interface MetricCollector {
  /** Reads every source once and adds its samples to `sink`; never throws for a missing or bad source. */
  sample(sink: MetricSink, nowMs?: number): void;
  /** Sources currently off (missing files, kernel features, controllers). */
  offSources(): string[];
  /** The cgroup hierarchy found (undefined before the first sample or with containers off). */
  cgroupVersion(): CgroupVersion | undefined;
  /** Closes the files kept open. */
  close(): void;
}

export function createMetricCollector(options: MetricCollectorOptions): MetricCollector {
  const logger = options.logger;
  const files = new SmallFileReader();
  const gate = new SourceGate(logger, options.retryMs);
  const counters = new CounterDeltas();
  const reader = new SourceReader(
    files,
    gate,
    options.keepFilesOpen ?? isPseudoFs(join(options.hostRoot, 'proc')),
  );
  const node = new NodeMetrics({ hostRoot: options.hostRoot, reader, gate, counters, logger });
  const containers =
    options.containers === false
      ? undefined
      : new ContainerMetrics({
          hostRoot: options.hostRoot,
          node: options.node,
          files,
          gate,
          logger,
          ...(options.keepFilesOpen !== undefined ? { keepFilesOpen: options.keepFilesOpen } : {}),
        });
  return {
    sample(sink, nowMs = Date.now()) {
      node.sample(sink, nowMs);
      containers?.sample(sink, nowMs);
      counters.sweep();
      files.sweep();
    },
    close: () => files.close(),
    offSources: () => gate.offSources(),
    cgroupVersion: () => containers?.cgroupVersion,
  };
}
