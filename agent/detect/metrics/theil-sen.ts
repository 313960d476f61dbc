// Theil–Sen slope with its rank-based confidence interval and the Mann–Kendall trend statistic, over small
// fixed arrays (a forecaster's ring). O(n²) pairs: meant for n ≤ ~60, computed once per ring step.

export interface SenFit {
  /** Median pairwise slope, units per ms. */
  slope: number;
  /** 95 % confidence bounds of the slope (Sen 1968). */
  low: number;
  high: number;
  /** Level of the fitted line at `atMs`. */
  levelAt: number;
  /** Mann–Kendall z: > 1.645 is an increasing trend at 95 % (one-sided). */
  mkZ: number;
  points: number;
}

const Z95 = 1.96;

function median(sorted: Float64Array | number[], count: number): number {
  if (count === 0) return Number.NaN;
  const mid = count >> 1;
  return count % 2 === 1
    ? (sorted[mid] as number)
    : ((sorted[mid - 1] as number) + (sorted[mid] as number)) / 2;
}

/**
 * Fits times `t` (ms) and values `y` from index `from` (inclusive) to `to` (exclusive). `scratch` must hold
 * at least n(n−1)/2 numbers (no allocation per call).
 */
export function senFit(
  t: Float64Array,
  y: Float64Array,
  from: number,
  to: number,
  atMs: number,
  scratch: Float64Array,
): SenFit | undefined {
  const n = to - from;
  if (n < 4) return undefined;
  let m = 0;
  let s = 0;
  for (let i = from; i < to; i++) {
    const ti = t[i] as number;
    const yi = y[i] as number;
    for (let j = i + 1; j < to; j++) {
      const dy = (y[j] as number) - yi;
      const dt = (t[j] as number) - ti;
      if (dt > 0) scratch[m++] = dy / dt;
      s += Math.sign(dy);
    }
  }
  if (m < 3) return undefined;
  const slopes = scratch.subarray(0, m).sort();
  const slope = median(slopes, m);
  const varS = (n * (n - 1) * (2 * n + 5)) / 18;
  const c = Z95 * Math.sqrt(varS);
  const lowIdx = Math.max(0, Math.floor((m - c) / 2));
  const highIdx = Math.min(m - 1, Math.ceil((m + c) / 2));
  const low = slopes[lowIdx] as number;
  const high = slopes[highIdx] as number;
  // The slopes are read; the scratch space now holds the intercept residuals.
  const residuals = scratch.subarray(0, n);
  for (let i = 0; i < n; i++)
    residuals[i] = (y[from + i] as number) - slope * ((t[from + i] as number) - atMs);
  residuals.sort();
  const mkZ = s > 0 ? (s - 1) / Math.sqrt(varS) : s < 0 ? (s + 1) / Math.sqrt(varS) : 0;
  return {
    slope,
    low,
    high,
    levelAt: median(residuals, n),
    mkZ,
    points: n,
  };
}
