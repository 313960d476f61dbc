// Node and container samples → streaming detectors and exhaustion forecasts in the worker pool → signals.
// Every sample of a watched series is scored as it comes (batched per sampling tick across the thread
// boundary); series that have a capacity (memory limit, disk size, pid max) also get a time-to-exhaustion
// forecast, so a leak is announced before it kills anything.
import type { Logger } from '../../common/log.ts';
import type { Signal, Subject } from '../../common/signal.ts';
import {
  createMetricDetectionPool,
  type MetricDetectionPool,
  type MetricSample,
} from '../detect/metrics/pool.ts';
import {
  anomalySignal,
  forecastSignal,
  type MetricUnit,
  type SeriesIdentity,
} from '../detect/metrics/signals.ts';
import type { SampleMeta } from '../summarize/digest.ts';

/** The series worth scoring, with how to speak of their values. Others are shipped as digests only. */
const WATCHED: Record<string, MetricUnit> = {
  'node.cpu.utilization': 'none',
  'node.memory.used_bytes': 'bytes',
  'node.swap.used_bytes': 'bytes',
  'node.load.1m': 'none',
  'node.fs.used_bytes': 'bytes',
  'node.fs.inodes_used': 'count',
  'node.pids.current': 'count',
  'container.memory.current_bytes': 'bytes',
  'container.cpu.cores': 'cores',
  'container.cpu.throttled_ratio': 'none',
  'container.pids.current': 'count',
};

function unitOf(name: string): MetricUnit | undefined {
  if (name in WATCHED) return WATCHED[name];
  if (name.startsWith('node.psi.')) return 'none';
  return undefined;
}

function label(name: string, subject: Subject, labels: Record<string, string> | undefined): string {
  const what = name
    .split('.')
    .slice(1)
    .join(' ')
    .replace(/_bytes$|_current$/, '')
    .replace(/_/g, ' ');
  if (subject.kind === 'container')
    return `${what} of ${subject.namespace}/${subject.pod}/${subject.container}`;
  const detail = labels ? Object.values(labels).join(' ') : '';
  return `node ${subject.node} ${what}${detail ? ` ${detail}` : ''}`;
}

export class MetricPipeline {
  private readonly pool: MetricDetectionPool;
  private readonly identities = new Map<string, SeriesIdentity>();
  private pending: MetricSample[] = [];
  private chain: Promise<unknown> = Promise.resolve();
  private readonly opts: { node: string; emit: (s: Signal) => void; logger: Logger };

  constructor(opts: { node: string; emit: (s: Signal) => void; logger: Logger; threads?: number }) {
    this.opts = opts;
    this.pool = createMetricDetectionPool({ threads: opts.threads ?? 1 });
  }

  /** A raw sample (the digest accumulator's listener). */
  observe(key: string, name: string, value: number, meta: SampleMeta, timeMs = Date.now()): void {
    const unit = unitOf(name);
    if (unit === undefined) return;
    if (!this.identities.has(key)) {
      const subject = meta.subject ?? { kind: 'node', node: this.opts.node };
      this.identities.set(key, { subject, metric: name, label: label(name, subject, meta.labels), unit });
    }
    const sample: MetricSample = { series: key, timeMs, value };
    if (meta.capacity !== undefined && Number.isFinite(meta.capacity) && meta.capacity > 0)
      sample.capacity = meta.capacity;
    this.pending.push(sample);
  }

  /** Scores what was observed since the last flush; signals go to `emit`. */
  flush(): Promise<void> {
    const batch = this.pending;
    this.pending = [];
    if (batch.length === 0) return this.chain.then(() => {});
    const run = this.chain.then(async () => {
      const result = await this.pool.process(batch);
      for (const d of result.detections) {
        // Usage falling is not worth a signal on its own (a crash or a stall shows in pod and log signals, and
        // a stalled counter file reads as a drop to zero); rising usage is what exhausts a node.
        if (d.update.value < d.update.expected) continue;
        const id = this.identities.get(d.series);
        const s = id && anomalySignal(id, d.timeMs, d.update);
        if (s) this.opts.emit(s);
      }
      for (const w of result.warnings) {
        const id = this.identities.get(w.series);
        const s = id && forecastSignal(id, w.forecast);
        if (s) this.opts.emit(s);
      }
    });
    this.chain = run.catch((error: unknown) =>
      this.opts.logger.warn({ err: error }, 'metric detection failed'),
    );
    return this.chain.then(() => {});
  }

  get series(): number {
    return this.identities.size;
  }

  async close(): Promise<void> {
    await this.chain;
    await this.pool.close();
  }
}
