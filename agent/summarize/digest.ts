// Accumulates samples per series over a window into min/max/mean/last digests: the summary ships these,
// never the samples.
import { create } from '@bufbuild/protobuf';
import type { Subject } from '../../common/signal.ts';
import { subjectToWire } from '../../common/signal-wire.ts';
import { type MetricDigest, MetricDigestSchema } from '../../proto/gen/vigil/v1/summary_pb.js';

interface Accumulator {
  name: string;
  subject: Subject | undefined;
  labels: Record<string, string> | undefined;
  capacity: number;
  min: number;
  max: number;
  sum: number;
  last: number;
  count: number;
}

export interface SampleMeta {
  subject?: Subject;
  labels?: Record<string, string>;
  /** What the series is measured against (memory limit, disk size). */
  capacity?: number;
}

/** Sees every raw sample (the detectors score samples; the summary ships only digests). */
export type SampleListener = (key: string, name: string, value: number, meta: SampleMeta) => void;

export class DigestAccumulator {
  private series = new Map<string, Accumulator>();
  private readonly listener: SampleListener | undefined;

  constructor(listener?: SampleListener) {
    this.listener = listener;
  }

  add(name: string, value: number, meta: SampleMeta = {}): void {
    if (!Number.isFinite(value)) return;
    const key = seriesKey(name, meta);
    this.listener?.(key, name, value, meta);
    let acc = this.series.get(key);
    if (!acc) {
      acc = {
        name,
        subject: meta.subject,
        labels: meta.labels,
        capacity: 0,
        min: value,
        max: value,
        sum: 0,
        last: value,
        count: 0,
      };
      this.series.set(key, acc);
    }
    acc.min = Math.min(acc.min, value);
    acc.max = Math.max(acc.max, value);
    acc.sum += value;
    acc.last = value;
    acc.count++;
    if (meta.capacity !== undefined) acc.capacity = meta.capacity;
  }

  get size(): number {
    return this.series.size;
  }

  /** The window's digests; starts the next window empty. */
  drain(): MetricDigest[] {
    const out: MetricDigest[] = [];
    for (const a of this.series.values()) {
      out.push(
        create(MetricDigestSchema, {
          name: a.name,
          ...(a.subject ? { subject: subjectToWire(a.subject) } : {}),
          labels: a.labels ?? {},
          min: a.min,
          max: a.max,
          mean: a.sum / a.count,
          last: a.last,
          count: a.count,
          capacity: a.capacity,
        }),
      );
    }
    this.series.clear();
    return out;
  }
}

export function seriesKey(name: string, meta: SampleMeta): string {
  const s = meta.subject;
  const subject = s
    ? `${s.kind}/${s.node ?? ''}/${s.namespace ?? ''}/${s.pod ?? ''}/${s.container ?? ''}`
    : '';
  const labels = meta.labels
    ? Object.entries(meta.labels)
        .map(([k, v]) => `${k}=${v}`)
        .join(',')
    : '';
  return `${name}|${subject}|${labels}`;
}
