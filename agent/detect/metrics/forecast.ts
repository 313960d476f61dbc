// Exhaustion forecast for a usage-vs-capacity series (node memory, a container's memory against its limit,
// a filesystem's bytes or inodes, PIDs). Samples are averaged into fixed steps (default 1 min) kept in a
// fixed ring (default 60 steps = 1 h). At each closed step it fits robust trends (Theil–Sen) and warns when
// the series will reach its capacity within the horizon (default 1 h) — but only for a sustained trend:
//   • the whole ring rises significantly (Mann–Kendall, and the slope's lower 95 % bound above zero);
//   • each third of the ring rises on its own, so a step followed by a flat line does not count;
//   • the curve is not bending over: a saturating fill (cache warm-up) projects no exhaustion.
//   • the series has been watched for a whole ring: a cycle shorter than the ring (a slow GC sawtooth)
//     has then shown its release, which is remembered; before that, a first climb is indistinguishable
//     from a leak.
// GC and daily sawtooths fail the first two tests; a steady daily climb that stays far from the limit
// projects beyond the horizon.

import { type SenFit, senFit } from './theil-sen.ts';

export interface ForecastOptions {
  /** Averaging step, ms. Default 60 000. */
  stepMs?: number;
  /** Steps kept in the ring. Default 60. */
  points?: number;
  /** Warn when exhaustion is expected within this time, ms. Default 3 600 000 (1 h). */
  horizonMs?: number;
  /** Steps of history needed before any warning. Default 20. */
  minPoints?: number;
}

export interface Forecast {
  /** True while exhaustion is expected inside the horizon. */
  warning: boolean;
  /** True on the update that opens a warning episode. */
  started: boolean;
  /** Time from now to exhaustion (central, earliest, latest), ms; undefined when not growing. */
  etaMs?: number;
  etaLowMs?: number;
  etaHighMs?: number;
  /** Growth per second at the fitted trend. */
  ratePerSec: number;
  /** How long the trend has been rising, ms (the span of the fit). */
  trendSpanMs: number;
  level: number;
  capacity: number;
  timeMs: number;
}

export interface ExhaustionForecaster {
  /** Feeds one sample; returns the forecast as of the last closed step (undefined until the first). */
  update(timeMs: number, used: number, capacity: number): Forecast | undefined;
  /** Versioned state (ring and bookkeeping), to persist; `createExhaustionForecaster(opts, state)` restores it. */
  serialize(): Float64Array;
}

/** Layout of `serialize()`: version, ring size, step, the two rings, then FORECAST_SCALARS numbers. */
const FORECAST_STATE_VERSION = 1;
const FORECAST_HEADER = 3;
const FORECAST_SCALARS = 14;

export const FORECAST_DEFAULTS = { stepMs: 60_000, points: 60, horizonMs: 3_600_000, minPoints: 20 } as const;

const WHOLE_MIN_MK_Z = 2.33; // 99 % one-sided
const THIRD_MIN_MK_Z = 1.28; // 90 % one-sided, on each third
/** A fill whose latest third grows at under this share of its first third's rate is bending over. */
const BENDING_RATIO = 0.35;
/** Each third's slope (its lower 95 % bound) must beat the previous third's by this factor for the parabola. */
const ACCELERATION = 1.2;
/** A drop of this share of capacity within one step is a release (GC, cleanup, log rotation). */
const RELEASE_FRACTION = 0.05;
/** A jump must exceed this many step-to-step sigmas (as well as RELEASE_FRACTION of capacity). */
const JUMP_SIGMAS = 6;
/** A climb must pass earlier release peaks by this share of capacity to count as new. */
const RELEASE_MARGIN = 0.05;
/** How long a release's peak is remembered. */
const RELEASE_MEMORY_MS = 3 * 3_600_000;

/**
 * Least-squares parabola through the ring (time in minutes before `nowMs`); the time until it reaches
 * `capacity` when it curves upwards, else undefined.
 */
function quadraticEta(
  t: Float64Array,
  y: Float64Array,
  n: number,
  nowMs: number,
  capacity: number,
): number | undefined {
  // Normal equations for y = a + b·u + c·u², u in minutes relative to now.
  let s0 = 0;
  let s1 = 0;
  let s2 = 0;
  let s3 = 0;
  let s4 = 0;
  let r0 = 0;
  let r1 = 0;
  let r2 = 0;
  for (let i = 0; i < n; i++) {
    const u = ((t[i] as number) - nowMs) / 60_000;
    const v = y[i] as number;
    const u2 = u * u;
    s0 += 1;
    s1 += u;
    s2 += u2;
    s3 += u2 * u;
    s4 += u2 * u2;
    r0 += v;
    r1 += v * u;
    r2 += v * u2;
  }
  const det = s0 * (s2 * s4 - s3 * s3) - s1 * (s1 * s4 - s3 * s2) + s2 * (s1 * s3 - s2 * s2);
  if (!(Math.abs(det) > 1e-12)) return undefined;
  const a = (r0 * (s2 * s4 - s3 * s3) - s1 * (r1 * s4 - s3 * r2) + s2 * (r1 * s3 - s2 * r2)) / det;
  const b = (s0 * (r1 * s4 - r2 * s3) - r0 * (s1 * s4 - s3 * s2) + s2 * (s1 * r2 - r1 * s2)) / det;
  const c = (s0 * (s2 * r2 - s3 * r1) - s1 * (s1 * r2 - r1 * s2) + r0 * (s1 * s3 - s2 * s2)) / det;
  if (!(c > 0)) return undefined;
  const k = a - capacity;
  if (k >= 0) return 0;
  const disc = b * b - 4 * c * k;
  const root = (-b + Math.sqrt(disc)) / (2 * c);
  return root > 0 ? root * 60_000 : undefined;
}

/**
 * A forecaster with its own defaults; pass `state` (from `serialize()`, same options) to continue where a
 * previous one stopped. A state of another layout version, ring size or step, or an inconsistent one, throws.
 */
export function createExhaustionForecaster(
  opts: ForecastOptions = {},
  state?: Float64Array,
): ExhaustionForecaster {
  const stepMs = opts.stepMs ?? FORECAST_DEFAULTS.stepMs;
  const size = opts.points ?? FORECAST_DEFAULTS.points;
  const horizonMs = opts.horizonMs ?? FORECAST_DEFAULTS.horizonMs;
  const minPoints = opts.minPoints ?? FORECAST_DEFAULTS.minPoints;
  if (!(stepMs > 0)) throw new RangeError('options.stepMs must be a positive number');
  if (!(Number.isInteger(size) && size >= 12)) throw new RangeError('options.points must be an integer ≥ 12');
  if (!(horizonMs > 0)) throw new RangeError('options.horizonMs must be a positive number');
  if (!(Number.isInteger(minPoints) && minPoints >= 12 && minPoints <= size))
    throw new RangeError('options.minPoints must be an integer between 12 and options.points');

  const ringT = new Float64Array(size);
  const ringY = new Float64Array(size);
  let head = 0;
  let count = 0;
  const t = new Float64Array(size);
  const y = new Float64Array(size);
  const scratch = new Float64Array((size * (size - 1)) / 2);
  let stepStart = Number.NaN;
  let stepSum = 0;
  let stepN = 0;
  let stepTimeSum = 0;
  let capacityNow = Number.NaN;
  let lastTimeMs = Number.NaN;
  let warning = false;
  let diffScale = 0; // EWMA |step-to-step change|: the noise a jump must stand out from
  let diffN = 0;
  let observed = 0; // steps seen since the first sample (not reset by regime changes), capped at the ring
  let releasePeak = Number.NEGATIVE_INFINITY;
  let releaseTimeMs = Number.NEGATIVE_INFINITY;
  let last: Forecast | undefined;

  function push(timeMs: number, value: number): void {
    const prev = count > 0 ? (ringY[(head - 1 + size) % size] as number) : Number.NaN;
    const jump = value - prev;
    // A jump well beyond the step-to-step noise and a visible share of capacity is a regime change: a
    // release (GC, cleanup, rotation) or a step. The trend is measured from there on.
    const jumpFloor = Math.max(RELEASE_FRACTION * capacityNow, JUMP_SIGMAS * 1.25 * diffScale);
    if (Math.abs(jump) > jumpFloor) {
      if (jump < 0) {
        releasePeak = timeMs - releaseTimeMs <= RELEASE_MEMORY_MS ? Math.max(releasePeak, prev) : prev;
        releaseTimeMs = timeMs;
      }
      count = 0;
    } else if (Number.isFinite(jump)) {
      diffScale = diffN === 0 ? Math.abs(jump) : diffScale + 0.05 * (Math.abs(jump) - diffScale);
      diffN++;
    }
    observed = Math.min(observed + 1, size);
    ringT[head] = timeMs;
    ringY[head] = value;
    head = (head + 1) % size;
    count = Math.min(count + 1, size);
  }

  function ordered(): void {
    const start = (head - count + size) % size;
    for (let i = 0; i < count; i++) {
      t[i] = ringT[(start + i) % size] as number;
      y[i] = ringY[(start + i) % size] as number;
    }
  }

  function compute(nowMs: number): Forecast {
    ordered();
    const capacity = capacityNow;
    const base: Forecast = {
      warning: false,
      started: false,
      ratePerSec: 0,
      trendSpanMs: 0,
      level: y[count - 1] ?? Number.NaN,
      capacity,
      timeMs: nowMs,
    };
    const whole = senFit(t, y, 0, count, nowMs, scratch);
    if (whole === undefined || !(capacity > 0)) return base;
    base.level = whole.levelAt;
    base.ratePerSec = whole.slope * 1000;
    if (count < minPoints || !(whole.slope > 0)) return base;

    const third = Math.floor(count / 3);
    const thirds: SenFit[] = [];
    for (let k = 0; k < 3; k++) {
      const fit = senFit(t, y, k * third, k === 2 ? count : (k + 1) * third, nowMs, scratch);
      if (fit !== undefined) thirds.push(fit);
    }
    const first = thirds[0];
    const latest = thirds[thirds.length - 1];
    const sustained =
      whole.mkZ >= WHOLE_MIN_MK_Z &&
      whole.low > 0 &&
      thirds.length === 3 &&
      thirds.every((f) => f.mkZ >= THIRD_MIN_MK_Z);
    const bending = first !== undefined && latest !== undefined && latest.slope < BENDING_RATIO * first.slope;

    // The latest third carries an acceleration; the whole ring is the steadier estimate otherwise.
    const useLatest = latest !== undefined && latest.slope > whole.slope && latest.mkZ >= WHOLE_MIN_MK_Z;
    const fit = useLatest && latest !== undefined ? latest : whole;
    const level = fit.levelAt;
    const headroom = Math.max(0, capacity - level);
    let etaMs = headroom / fit.slope;
    // An accelerating leak reaches the limit sooner than any straight line says: project the parabola.
    // Only for a curve that steepens third after third (a kink from flat to linear does not qualify).
    const middle = thirds[1];
    const accelerating =
      sustained &&
      first !== undefined &&
      middle !== undefined &&
      latest !== undefined &&
      first.low > 0 &&
      middle.low > ACCELERATION * first.slope &&
      latest.low > ACCELERATION * middle.slope;
    if (accelerating) {
      const quadEta = quadraticEta(t, y, count, nowMs, capacity);
      if (quadEta !== undefined && quadEta < etaMs) etaMs = quadEta;
    }
    const etaLowMs = headroom / Math.max(fit.high, fit.slope);
    const etaHighMs = fit.low > 0 ? headroom / fit.low : Number.POSITIVE_INFINITY;
    const result: Forecast = {
      ...base,
      level,
      ratePerSec: fit.slope * 1000,
      trendSpanMs: (t[count - 1] as number) - (t[useLatest ? 2 * third : 0] as number),
      etaMs,
      etaLowMs,
      etaHighMs,
    };
    // Something that has been this high before and came back down (a sawtooth's release) is not a leak
    // until it climbs past those earlier peaks.
    const belowPastPeaks =
      level < releasePeak + RELEASE_MARGIN * capacity && nowMs - releaseTimeMs <= RELEASE_MEMORY_MS;
    if (warning) result.warning = whole.slope > 0 && etaMs <= 2 * horizonMs && !belowPastPeaks;
    // A warning opens only once a whole ring of the series has been seen (its own short cycles show there).
    else result.warning = sustained && !bending && !belowPastPeaks && observed >= size && etaMs <= horizonMs;
    return result;
  }

  function update(timeMs: number, used: number, capacity: number): Forecast | undefined {
    if (!Number.isFinite(timeMs) || !Number.isFinite(used)) return last;
    if (!Number.isNaN(lastTimeMs) && timeMs < lastTimeMs) return last;
    // A gap longer than the ring (an agent down for over an hour) leaves nothing of the ring's window: the
    // trend is measured afresh, like after a regime change. What has been seen (history, release peaks) stays.
    if (timeMs - lastTimeMs > size * stepMs) {
      count = 0;
      stepN = 0;
      stepSum = 0;
      stepTimeSum = 0;
    }
    lastTimeMs = timeMs;
    if (Number.isFinite(capacity)) capacityNow = capacity;
    if (Number.isNaN(stepStart)) stepStart = timeMs - (timeMs % stepMs);
    let closed: Forecast | undefined;
    if (timeMs >= stepStart + stepMs) {
      if (stepN > 0) {
        push(stepTimeSum / stepN, stepSum / stepN);
        const next = compute(stepTimeSum / stepN);
        next.started = next.warning && !warning;
        warning = next.warning;
        last = next;
        // `started` marks only the sample that closed the step; later samples of the step see false.
        last = { ...next, started: false };
        closed = next;
      }
      stepStart = timeMs - (timeMs % stepMs);
      stepSum = 0;
      stepN = 0;
      stepTimeSum = 0;
    }
    stepSum += used;
    stepTimeSum += timeMs;
    stepN++;
    return closed ?? last;
  }

  function serialize(): Float64Array {
    const out = new Float64Array(FORECAST_HEADER + 2 * size + FORECAST_SCALARS);
    out.set([FORECAST_STATE_VERSION, size, stepMs], 0);
    out.set(ringT, FORECAST_HEADER);
    out.set(ringY, FORECAST_HEADER + size);
    out.set(
      [
        head,
        count,
        stepStart,
        stepSum,
        stepN,
        stepTimeSum,
        capacityNow,
        lastTimeMs,
        warning ? 1 : 0,
        releasePeak,
        releaseTimeMs,
        diffScale,
        diffN,
        observed,
      ],
      FORECAST_HEADER + 2 * size,
    );
    return out;
  }

  function restore(state: Float64Array): void {
    if (
      state.length !== FORECAST_HEADER + 2 * size + FORECAST_SCALARS ||
      state[0] !== FORECAST_STATE_VERSION ||
      state[1] !== size ||
      state[2] !== stepMs
    )
      throw new RangeError(
        `forecaster state must be a version ${FORECAST_STATE_VERSION} state of a ${size}-step ring of ${stepMs} ms`,
      );
    const at = FORECAST_HEADER + 2 * size;
    const v = (i: number) => state[at + i] as number;
    const index = (x: number, max: number) => Number.isInteger(x) && x >= 0 && x <= max;
    if (
      !index(v(0), size - 1) ||
      !index(v(1), size) ||
      !index(v(4), Number.MAX_SAFE_INTEGER) ||
      !index(v(13), size)
    )
      throw new RangeError('forecaster state is inconsistent (ring indices out of range)');
    ringT.set(state.subarray(FORECAST_HEADER, FORECAST_HEADER + size));
    ringY.set(state.subarray(FORECAST_HEADER + size, at));
    head = v(0);
    count = v(1);
    stepStart = v(2);
    stepSum = v(3);
    stepN = v(4);
    stepTimeSum = v(5);
    capacityNow = v(6);
    lastTimeMs = v(7);
    warning = v(8) === 1;
    releasePeak = v(9);
    releaseTimeMs = v(10);
    diffScale = v(11);
    diffN = v(12);
    observed = v(13);
    last = undefined;
  }

  if (state !== undefined) restore(state);

  return { update, serialize };
}
