// Where collected samples go. `DigestAccumulator` (agent/summarize/digest.ts) is one; a test or a detector
// feed can be another.
import type { SampleMeta } from '../../summarize/digest.ts';

export type { SampleMeta };

export interface MetricSink {
  add(name: string, value: number, meta?: SampleMeta): void;
}
