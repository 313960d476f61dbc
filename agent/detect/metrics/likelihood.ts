// Second stage in the spirit of HTM's "anomaly likelihood" (Ahmad et al. 2017): the detector's raw per-sample
// surprise is averaged over a short window and compared with the long-term distribution of those averages.
// A short-term mean far in the upper tail means the series' texture changed (denser bursts, new oscillation,
// noisier level), even when no single sample stands out. Four numbers of state, O(1) per sample.

/** State layout: [count, short mean, long mean, long variance]. */
export const LIKELIHOOD_STATE = 4;
const SHORT_ALPHA = 0.1;
/** The long-term memory saturates at this many samples (EWMA weight 1/LONG_MEMORY): bounded, slowly adapting. */
const LONG_MEMORY = 2000;
/** Floor of the long-term spread (surprise units): on a flat line a change of nothing must not be "rare". */
const MIN_SPREAD = 0.001;

export function createLikelihoodState(): Float64Array {
  return new Float64Array(LIKELIHOOD_STATE);
}

/**
 * Feeds one raw surprise (0..1) and returns how many long-term standard deviations the short-term mean sits
 * above the long-term mean, measured before this sample is learnt (no look-ahead). 0 until `minSamples`.
 */
export function likelihoodStep(state: Float64Array, surprise: number, minSamples: number): number {
  const n = (state[0] as number) + 1;
  state[0] = n;
  const short = n === 1 ? surprise : (state[1] as number) + SHORT_ALPHA * (surprise - (state[1] as number));
  state[1] = short;
  const mean = state[2] as number;
  const variance = state[3] as number;
  const z = n > minSamples ? (short - mean) / Math.max(Math.sqrt(variance), MIN_SPREAD) : 0;
  const a = 1 / Math.min(n, LONG_MEMORY);
  const d = short - mean;
  state[2] = mean + a * d;
  state[3] = n === 1 ? 0 : (1 - a) * (variance + a * d * d);
  return z;
}
