// Constructed series for the metric detection tests: seeded noise, fixed steps.
import { gaussian, seededRandom } from '../../../bench/forecast/scenarios.ts';

export const MIN = 60_000;
export const T0 = Date.UTC(2026, 0, 5, 0, 0, 0);

export function noiseSource(seed: number): () => number {
  return gaussian(seededRandom(seed));
}

/** Feeds `values` at a fixed step and returns the indices flagged as anomalies (with their kinds). */
export function flagged(
  detector: { update(timeMs: number, value: number): { anomaly: boolean; kind?: string } },
  values: readonly number[],
  stepMs = MIN,
): Array<{ index: number; kind: string | undefined }> {
  const out: Array<{ index: number; kind: string | undefined }> = [];
  values.forEach((v, i) => {
    const r = detector.update(T0 + i * stepMs, v);
    if (r.anomaly) out.push({ index: i, kind: r.kind });
  });
  return out;
}
