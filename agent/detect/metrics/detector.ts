// Per-series streaming anomaly detector. Fixed-size state (~1.5 KB: EWMA statistics, a 48-slot daily profile,
// a 48-slot time-of-day spike memory, a 16-block envelope of recent extremes); learns online, no look-ahead.
// Three views of "unusual", each scored as a ratio to its own threshold (1 = at threshold):
//   spike     one-step residual against a fast EWMA level, in units of a robust residual spread;
//   shift     a short EWMA of the value against the slow baseline (slow level + daily profile when it is
//             real), reported as `level_shift`, or as `trend` when the level's slope explains it;
//   envelope  a new record beyond the recent max/min by a clear margin (reported as a spike);
//   flatline  a run of identical values longer, by the same margin, than any the series has shown (a stuck
//             exporter, a writer gone silent), once the series has been seen changing.
// Thresholds adapt to the series: heavy tails (a streaming 99th percentile of |z|), its own recent peak
// departures, and the spikes it shows at this time of day (a nightly job's spike is normal at that hour).
// One decision per episode: after a detection, detections are held off (until the series has stayed under
// threshold for the hold-off) and the baseline re-learns quickly.

import { type CounterState, counterRate } from './counter.ts';
import { createLikelihoodState, LIKELIHOOD_STATE, likelihoodStep } from './likelihood.ts';

export type AnomalyKind = 'spike' | 'level_shift' | 'trend' | 'flatline';

export interface SeriesDetectorOptions {
  /** `gauge` (default) scores the value; `counter` scores the per-second rate, handling resets and wraps. */
  mode?: 'gauge' | 'counter';
  /** Samples before any decision is made (the model still learns). Default 30. */
  warmupSamples?: number;
  /** Samples after a detection during which no new detection fires (one per episode). Default 100. */
  holdoffSamples?: number;
  /** Robust z a departure must reach to count (raised by the series' own tails and peaks). Default 5. */
  zThreshold?: number;
  /** Length of the seasonal pattern, ms. Default one day. */
  seasonPeriodMs?: number;
}

export interface SeriesUpdate {
  /** 0..1; 0.5 is the decision threshold. */
  score: number;
  anomaly: boolean;
  kind?: AnomalyKind;
  /** What the model expected for this sample (the rate in counter mode). */
  expected: number;
  /** The spread the departure was measured against. */
  sigma: number;
  /** The value that was scored (the rate in counter mode); NaN when the sample was skipped. */
  value: number;
  /** The usual level (slow baseline, with the daily profile when it is real). */
  baseline: number;
  /** Current growth of the level, units per second. */
  ratePerSec: number;
  /** When the current rise or fall of the level began (ms), for "grew … for 40 min". */
  trendSinceMs: number;
  /** Since when the value has stayed exactly the same (this sample's time when it just changed), for flatlines. */
  unchangedSinceMs: number;
}

export interface SeriesDetectorSnapshot {
  samples: number;
  level: number;
  baseline: number;
  sigma: number;
  seasonal: boolean;
  lastDetectionMs: number | undefined;
}

export interface SeriesDetector {
  update(timeMs: number, value: number): SeriesUpdate;
  snapshot(): SeriesDetectorSnapshot;
  /** Serialised state, to measure and persist (bounded: never grows with the number of samples). */
  serialize(): Float64Array;
}

const SEASON_BUCKETS = 48;
/** Layout of `serialize()`: a version number, then SCALARS - 1 numbers, then the fixed arrays. */
const STATE_VERSION = 3;
const SCALARS = 34;
/** Per-visit decay of the time-of-day spike memory (one visit per day) and the margin to beat it by. */
const DAY_PEAK_DECAY = 0.95;
const DAY_PEAK_MARGIN = 1.5;
/** Per-sample clip of the departure fed to the shift view, in sigmas: one spike cannot make a shift. */
const SHIFT_CLIP = 12;
/** A short-term departure beyond this many sigmas is an excursion: the baseline spread learns slower. */
const EXCURSION_SIGMAS = 2;
const EXCURSION_SLOWDOWN = 0.3;
/** Buckets either side searched for a same-time-of-day spike (jobs start a little early or late). */
const DAY_PEAK_SPAN = 2;
/** 16 × 64 samples: a record must beat more than one daily cycle at 5-minute sampling (a nightly job's size varies). */
const ENVELOPE_BLOCKS = 16;
const ENVELOPE_BLOCK = 64;
const STATE_LENGTH = SCALARS + 3 * SEASON_BUCKETS + 2 * ENVELOPE_BLOCKS + LIKELIHOOD_STATE;
/** A new record must exceed the old one by this share of the old record's distance from the baseline. */
const ENVELOPE_MARGIN = 0.1;
/** …and by this many sigmas of the baseline spread. */
const ENVELOPE_SIGMAS = 1;
/** A spike that stays within the recent extremes counts this much. */
const INSIDE_DAMP = 0.5;
const FAST_ALPHA = 0.2;
const SPREAD_ALPHA = 0.01;
const SLOW_ALPHA = 0.004;
const SHORT_ALPHA = 0.15;
const SEASON_ALPHA = 0.3;
/** Mean absolute deviation → standard deviation for a normal distribution. */
const MAD_TO_SIGMA = 1.2533;
/** Residuals are clipped to this many sigmas before they update the spread, so one spike does not blind it. */
const CLIP_SIGMAS = 4;
/** The streaming tail quantile of each view's |z|; new departures are compared with it. */
const TAIL_QUANTILE = 0.99;
const TAIL_STEP = 0.02;
/** Recent peak departures decay with this half-life (samples) and must be beaten by PEAK_MARGIN. */
const PEAK_HALF_LIFE = 1000;
const PEAK_DECAY = 2 ** (-1 / PEAK_HALF_LIFE);
/** Peaks are remembered up to this multiple of the z threshold, so one wild sample cannot mute the rest. */
const PEAK_CAP = 3;
const PEAK_MARGIN = 1.0;

/** Samples missed in a row (by the usual interval) that make a gap, after which the model re-settles. */
const GAP_INTERVALS = 30;
/** A flat run must be at least this long, and the series must have changed this often before, to count. */
const FLATLINE_MIN_SAMPLES = 60;

/** Surprise fed to the likelihood stage saturates at this many sigmas (one wild sample counts as 1). */
const SURPRISE_CAP = 6;
/** Samples of surprise history before the likelihood stage may decide (a fixed count, not a share of the series). */
const LIKELIHOOD_MIN_SAMPLES = 300;
/** Upper-tail probability the short-term surprise must reach: 1e-5 (HTM's usual 1 − 1e-5), as a Gaussian z. */
const LIKELIHOOD_Z = 4.265;
/** A time-of-day bucket is "special" when its spike memory exceeds this multiple of the all-day average. */
const SPECIAL_HOUR = 2;

export const DETECTOR_DEFAULTS = {
  mode: 'gauge',
  warmupSamples: 30,
  holdoffSamples: 100,
  zThreshold: 5,
  seasonPeriodMs: 86_400_000,
} as const;

/** Bias-corrected EWMA step: the first samples are plain means, then the weight settles at `alpha`. */
function ewma(prev: number, x: number, alpha: number, n: number): number {
  const a = Math.max(alpha, 1 / n);
  return prev + a * (x - prev);
}

/** Frugal streaming quantile (Ma, Muthukrishnan, Sandler 2013) with a multiplicative step: one number of state. */
function tailStep(q: number, x: number): number {
  if (x > q) return q + TAIL_STEP * TAIL_QUANTILE * Math.max(q, 1);
  return q - TAIL_STEP * (1 - TAIL_QUANTILE) * Math.max(q, 1);
}

/** Maps the departure ratio (1 = at threshold) to 0..1 with 0.5 at the threshold and room above it. */
function ratioToScore(ratio: number): number {
  if (!(ratio > 0)) return 0;
  const r2 = ratio * ratio;
  return r2 / (1 + r2);
}

/**
 * A detector with its own defaults; pass `state` (from `serialize()`) to continue where a previous one stopped.
 */
export function createSeriesDetector(opts: SeriesDetectorOptions = {}, state?: Float64Array): SeriesDetector {
  const mode = opts.mode ?? DETECTOR_DEFAULTS.mode;
  const warmup = opts.warmupSamples ?? DETECTOR_DEFAULTS.warmupSamples;
  const holdoff = opts.holdoffSamples ?? DETECTOR_DEFAULTS.holdoffSamples;
  const zThr = opts.zThreshold ?? DETECTOR_DEFAULTS.zThreshold;
  const period = opts.seasonPeriodMs ?? DETECTOR_DEFAULTS.seasonPeriodMs;
  if (!(warmup >= 0)) throw new RangeError('options.warmupSamples must be a non-negative number');
  if (!(holdoff >= 0)) throw new RangeError('options.holdoffSamples must be a non-negative number');
  if (!(zThr > 0)) throw new RangeError('options.zThreshold must be a positive number');
  if (!(period > 0)) throw new RangeError('options.seasonPeriodMs must be a positive number');

  let n = 0;
  let counter: CounterState | undefined;
  let firstTimeMs = Number.NaN;
  let lastTimeMs = Number.NaN;
  let fast = 0; // one-step level
  let spread = 0; // EWMA |one-step residual|
  let slow = 0; // slow level of the deseasonalised value
  let baseSpread = 0; // EWMA |value - baseline|
  let plainSpread = 0; // EWMA |value - slow level| without the daily profile, to test whether the profile is real
  let short = 0; // short EWMA of value - baseline
  let slope = 0; // EWMA of the change in the fast level, per sample
  let lastX = 0;
  let intervalMs = 0; // EWMA of the sampling interval
  let trendSinceMs = Number.NaN;
  let quantum = Number.POSITIVE_INFINITY; // smallest non-zero step seen: the series' resolution
  let spikePeak = 0;
  let shiftPeak = 0;
  let spikeTail = 1;
  let shiftTail = 1;
  let sinceDetection = Number.POSITIVE_INFINITY;
  let flatRun = 0; // samples in a row equal to the previous one
  let flatRecord = 0; // longest such run seen so far
  let flatSinceMs = Number.NaN; // time of the first sample of the current run
  let changes = 0; // samples that differed from the previous one (capped: only compared with the minimum)
  let lastDetectionMs: number | undefined;
  // Envelope of recent history: max and min of the last ENVELOPE_BLOCKS blocks of ENVELOPE_BLOCK samples.
  const blockMax = new Float64Array(ENVELOPE_BLOCKS).fill(Number.NEGATIVE_INFINITY);
  const blockMin = new Float64Array(ENVELOPE_BLOCKS).fill(Number.POSITIVE_INFINITY);
  let blockFill = 0;
  let blockSlot = 0;
  const season = new Float64Array(SEASON_BUCKETS);
  const dayPeak = new Float64Array(SEASON_BUCKETS); // largest one-step residual per time-of-day bucket
  const seasonSeen = new Uint16Array(SEASON_BUCKETS);
  let bucketIndex = -1;
  let bucketSum = 0;
  let bucketCount = 0;
  let seasonalOn = false;
  const likelihood = createLikelihoodState();
  let dayPeakTypical = 0; // mean of dayPeak over the day, refreshed at each bucket change

  function bucketOf(timeMs: number): number {
    const phase = (((timeMs % period) + period) % period) / period;
    return Math.min(SEASON_BUCKETS - 1, Math.floor(phase * SEASON_BUCKETS));
  }

  function foldBucket(): void {
    if (bucketIndex < 0 || bucketCount === 0) return;
    const mean = bucketSum / bucketCount;
    const seen = seasonSeen[bucketIndex] ?? 0;
    const prev = season[bucketIndex] ?? 0;
    season[bucketIndex] = seen === 0 ? mean : prev + SEASON_ALPHA * (mean - prev);
    seasonSeen[bucketIndex] = Math.min(seen + 1, 65_535);
  }

  function seasonalReady(): boolean {
    if (!(lastTimeMs - firstTimeMs >= 2 * period)) return false;
    for (let i = 0; i < SEASON_BUCKETS; i++) if ((seasonSeen[i] ?? 0) < 2) return false;
    return true;
  }

  function skipped(): SeriesUpdate {
    return {
      score: 0,
      anomaly: false,
      expected: fast,
      sigma: spread * MAD_TO_SIGMA,
      value: Number.NaN,
      baseline: slow,
      ratePerSec: 0,
      trendSinceMs: trendSinceMs,
      unchangedSinceMs: flatSinceMs,
    };
  }

  function update(timeMs: number, raw: number): SeriesUpdate {
    if (!Number.isFinite(timeMs) || !Number.isFinite(raw)) return skipped();
    if (!Number.isNaN(lastTimeMs) && timeMs <= lastTimeMs) return skipped();
    let x = raw;
    if (mode === 'counter') {
      const rate = counterRate(counter, timeMs, raw);
      counter = { lastValue: raw, lastTimeMs: timeMs };
      if (rate === undefined) return skipped();
      x = rate;
    }
    if (Number.isNaN(firstTimeMs)) firstTimeMs = timeMs;
    // After a gap (an agent restart, a lost scrape run) the series has moved on unseen: like after a
    // detection, the baseline re-learns fast and decisions wait out the hold-off, or a trend that went on
    // during the gap would return as a "record".
    if (intervalMs > 0 && timeMs - lastTimeMs > GAP_INTERVALS * intervalMs) sinceDetection = 0;
    // The sampling interval, for rates per second. A gap (an agent restart) counts as at most 4 intervals so
    // it barely moves the rate; a lasting change of sampling rate is still learned (up to +15 % a sample).
    if (!Number.isNaN(lastTimeMs))
      intervalMs =
        intervalMs === 0
          ? timeMs - lastTimeMs
          : intervalMs + 0.05 * (Math.min(timeMs - lastTimeMs, 4 * intervalMs) - intervalMs);
    const prevX = n > 0 ? lastX : x;
    lastX = x;
    lastTimeMs = timeMs;
    n++;

    const step = Math.abs(x - prevX);
    if (step > 0 && step < quantum) quantum = step;
    if (n > 1 && step === 0) flatRun++;
    else {
      if (n > 1) changes = Math.min(changes + 1, FLATLINE_MIN_SAMPLES);
      flatRecord = Math.max(flatRecord, flatRun);
      flatRun = 0;
      flatSinceMs = timeMs;
    }

    // Daily profile: accumulate this bucket's visit, fold it when the bucket changes.
    const b = bucketOf(timeMs);
    if (b !== bucketIndex) {
      foldBucket();
      dayPeak[b] = (dayPeak[b] as number) * DAY_PEAK_DECAY;
      let sum = 0;
      for (const peak of dayPeak) sum += peak;
      dayPeakTypical = sum / SEASON_BUCKETS;
      bucketIndex = b;
      bucketSum = 0;
      bucketCount = 0;
    }
    const seasonHere = seasonalOn ? (season[b] ?? 0) : 0;

    // Floor for every spread: the series' own resolution and a sliver of its magnitude, so a flat line
    // neither divides by zero nor flags each tiny change.
    const floor = Math.max(Number.isFinite(quantum) ? quantum : 0, 1e-3 * Math.abs(slow), 1e-9);

    // --- score against the state before this sample (no look-ahead) ---
    const expected = n > 1 ? fast + seasonHere : x;
    const sigmaSpike = Math.max(spread * MAD_TO_SIGMA, floor);
    const zSpike = n > 1 ? (x - expected) / sigmaSpike : 0;
    const baseline = slow + seasonHere;
    const sigmaBase = Math.max(baseSpread * MAD_TO_SIGMA, floor);
    const dev = x - baseline;
    // Clipped so one spike cannot pass for a shift: a shift has to persist for a few samples.
    const devClipped = Math.max(-SHIFT_CLIP * sigmaBase, Math.min(SHIFT_CLIP * sigmaBase, dev));
    const shortNext = n > 1 ? short + SHORT_ALPHA * (devClipped - short) : 0;
    const zShift = n > 1 ? shortNext / sigmaBase : 0;

    // A departure must beat both the fixed z threshold (scaled up for heavy-tailed series) and, by a margin,
    // the largest departures this series has shown lately: recurring bursts are its normal.
    // Same for the same time of day: a nightly job's spike is that series' normal at that hour.
    let dailyPeak = 0;
    for (let d = -DAY_PEAK_SPAN; d <= DAY_PEAK_SPAN; d++)
      dailyPeak = Math.max(dailyPeak, dayPeak[(b + d + SEASON_BUCKETS) % SEASON_BUCKETS] as number);
    const spikeRatio =
      Math.abs(zSpike) /
      Math.max(
        zThr * Math.max(1, spikeTail / 3),
        PEAK_MARGIN * spikePeak,
        (DAY_PEAK_MARGIN * dailyPeak) / sigmaSpike,
      );
    const shiftRatio =
      Math.abs(zShift) / Math.max(zThr * Math.max(1, shiftTail / 3), PEAK_MARGIN * shiftPeak);
    // Envelope view: how far beyond the recent extremes, relative to how far those extremes sit from the
    // baseline. A new record by a clear margin is what people call an anomaly in most operational series.
    let envHi = Number.NEGATIVE_INFINITY;
    let envLo = Number.POSITIVE_INFINITY;
    for (let i = 0; i < ENVELOPE_BLOCKS; i++) {
      envHi = Math.max(envHi, blockMax[i] as number);
      envLo = Math.min(envLo, blockMin[i] as number);
    }
    const envFloor = Math.max(2 * floor, sigmaBase);
    let envRatio = 0;
    if (n > ENVELOPE_BLOCK && Number.isFinite(envHi)) {
      const ref = slow + seasonHere;
      // …and the value itself must be a clear departure from the baseline, not a record of plain noise.
      const departure = Math.abs(x - ref) / (zThr * sigmaBase + floor);
      // The excess must be large both against the old record's reach and against the noise.
      if (x > envHi)
        envRatio = Math.min(
          (x - envHi) / Math.max(envHi - ref, envFloor) / ENVELOPE_MARGIN,
          (x - envHi) / (ENVELOPE_SIGMAS * sigmaBase + floor),
          departure,
        );
      else if (x < envLo)
        envRatio = Math.min(
          (envLo - x) / Math.max(ref - envLo, envFloor) / ENVELOPE_MARGIN,
          (envLo - x) / (ENVELOPE_SIGMAS * sigmaBase + floor),
          departure,
        );
    }
    const insideEnvelope = x <= envHi && x >= envLo;
    // Flatline view: the same value for longer than ever before (by the envelope's margin), in a series that
    // is seen to move. A record, like the envelope, so a series' usual quiet spells are its normal. Held at
    // the threshold (score 0.5) however long the run gets: its length says nothing more once it is a record.
    const flatRatio =
      changes >= FLATLINE_MIN_SAMPLES
        ? Math.min(1, flatRun / Math.max((1 + ENVELOPE_MARGIN) * (flatRecord + 1), FLATLINE_MIN_SAMPLES))
        : 0;
    // Likelihood view: per-sample surprise (0..1) is the larger of the one-step residual and the departure
    // from the baseline; the part of a spike that this hour usually shows (a nightly job, when that hour
    // stands out from the rest of the day) is not surprising. Fires when its short-term mean is in the far
    // tail of its own long-term distribution: a change of texture, not one sample.
    const usualHere = Math.max(0, dailyPeak - SPECIAL_HOUR * dayPeakTypical) / sigmaSpike;
    const spikeSurprise = Math.min(Math.max(0, Math.abs(zSpike) - usualHere), SURPRISE_CAP) / SURPRISE_CAP;
    const levelSurprise = Math.min(Math.abs(dev) / sigmaBase, SURPRISE_CAP) / SURPRISE_CAP;
    const surprise = n > 1 ? Math.max(spikeSurprise, levelSurprise) : 0;
    const likelihoodRatio = likelihoodStep(likelihood, surprise, LIKELIHOOD_MIN_SAMPLES) / LIKELIHOOD_Z;
    const ratio = Math.max(
      spikeRatio * (insideEnvelope ? INSIDE_DAMP : 1),
      shiftRatio,
      envRatio,
      likelihoodRatio,
      flatRatio,
    );
    const score = n > warmup ? ratioToScore(ratio) : 0;

    let kind: AnomalyKind | undefined;
    if (flatRatio >= 1 && flatRatio >= Math.max(spikeRatio, shiftRatio, envRatio)) kind = 'flatline';
    else if (envRatio >= shiftRatio && Math.abs(x - fast - seasonHere) > Math.abs(shortNext)) kind = 'spike';
    else if (spikeRatio >= shiftRatio && spikeRatio >= envRatio) kind = 'spike';
    else kind = Math.abs(slope) * 20 >= 0.5 * Math.abs(shortNext) ? 'trend' : 'level_shift';

    sinceDetection++;
    // An episode lasts while the series stays over threshold: the hold-off counts from its last such sample,
    // so a long disturbance raises one alert, not one per hold-off period.
    const overDuringHoldoff = ratio >= 1 && sinceDetection <= holdoff;
    if (overDuringHoldoff) sinceDetection = 1;
    const anomaly = n > warmup && ratio >= 1 && sinceDetection > holdoff;
    if (anomaly) {
      sinceDetection = 0;
      lastDetectionMs = timeMs;
    }
    // Right after a detection the baseline re-learns fast, so a lasting shift becomes the new normal.
    const relearn = sinceDetection <= holdoff ? 10 : 1;

    // --- learn ---
    if (n > 1) {
      if (n > warmup) {
        // Capped, so one wild early sample cannot mute the detector for the next thousand.
        spikePeak = Math.max(spikePeak * PEAK_DECAY, Math.min(Math.abs(zSpike), PEAK_CAP * zThr));
        shiftPeak = Math.max(shiftPeak * PEAK_DECAY, Math.min(Math.abs(zShift), PEAK_CAP * zThr));
      }
      spikeTail = tailStep(spikeTail, Math.abs(zSpike));
      shiftTail = tailStep(shiftTail, Math.abs(zShift));
    }
    if (n > warmup) dayPeak[b] = Math.max(dayPeak[b] as number, Math.abs(x - expected));
    const clipSpike = Math.min(Math.abs(x - expected), CLIP_SIGMAS * sigmaSpike);
    spread = n > 1 ? ewma(spread, clipSpike, SPREAD_ALPHA, n - 1) : 0;
    const prevFast = fast;
    fast = n > 1 ? fast + FAST_ALPHA * (x - seasonHere - fast) : x;
    const prevSlope = slope;
    slope = n > 2 ? slope + SHORT_ALPHA * (fast - prevFast - slope) : 0;
    if (Math.sign(slope) !== Math.sign(prevSlope) || n <= 2) trendSinceMs = timeMs;
    const clipBase = Math.min(Math.abs(dev), CLIP_SIGMAS * sigmaBase);
    // During a sustained excursion the spread learns slowly, or a slow ramp would widen it and hide itself.
    const excursion = n > warmup && Math.abs(shortNext) > EXCURSION_SIGMAS * sigmaBase;
    baseSpread =
      n > 1
        ? ewma(baseSpread, clipBase, excursion ? SPREAD_ALPHA * EXCURSION_SLOWDOWN : SPREAD_ALPHA, n - 1)
        : 0;
    plainSpread = n > 1 ? ewma(plainSpread, Math.abs(x - slow), SPREAD_ALPHA, n - 1) : 0;
    short = shortNext;
    slow = n > 1 ? ewma(slow, x - seasonHere, Math.min(1, SLOW_ALPHA * relearn), n) : x;
    bucketSum += x - slow;
    const slot = blockSlot;
    blockMax[slot] = Math.max(blockFill === 0 ? Number.NEGATIVE_INFINITY : (blockMax[slot] as number), x);
    blockMin[slot] = Math.min(blockFill === 0 ? Number.POSITIVE_INFINITY : (blockMin[slot] as number), x);
    blockFill++;
    if (blockFill >= ENVELOPE_BLOCK) {
      blockFill = 0;
      blockSlot = (blockSlot + 1) % ENVELOPE_BLOCKS;
    }
    bucketCount++;

    // The daily profile is used only when it spans two periods and explains a real share of the spread.
    if (!seasonalOn && seasonalReady()) {
      let mean = 0;
      for (const s of season) mean += s;
      mean /= SEASON_BUCKETS;
      let amp = 0;
      for (const s of season) amp += Math.abs(s - mean);
      amp /= SEASON_BUCKETS;
      seasonalOn = amp > 0.5 * plainSpread && amp > floor;
    }

    const result: SeriesUpdate = {
      score,
      anomaly,
      expected: kind === 'spike' ? expected : baseline,
      sigma: kind === 'spike' ? sigmaSpike : sigmaBase,
      value: x,
      baseline,
      ratePerSec: intervalMs > 0 ? (slope * 1000) / intervalMs : 0,
      trendSinceMs,
      unchangedSinceMs: flatSinceMs,
    };
    if (ratio >= 1) result.kind = kind;
    return result;
  }

  function snapshot(): SeriesDetectorSnapshot {
    return {
      samples: n,
      level: fast,
      baseline: slow,
      sigma: Math.max(baseSpread * MAD_TO_SIGMA, 0),
      seasonal: seasonalOn,
      lastDetectionMs,
    };
  }

  function serialize(): Float64Array {
    const scalars = [
      STATE_VERSION,
      n,
      firstTimeMs,
      lastTimeMs,
      fast,
      spread,
      slow,
      baseSpread,
      plainSpread,
      short,
      slope,
      quantum,
      lastX,
      intervalMs,
      trendSinceMs,
      spikeTail,
      shiftTail,
      spikePeak,
      shiftPeak,
      sinceDetection,
      lastDetectionMs ?? Number.NaN,
      bucketIndex,
      bucketSum,
      bucketCount,
      seasonalOn ? 1 : 0,
      blockFill,
      blockSlot,
      counter?.lastValue ?? Number.NaN,
      counter?.lastTimeMs ?? Number.NaN,
      dayPeakTypical,
      flatRun,
      flatRecord,
      changes,
      flatSinceMs,
    ];
    const out = new Float64Array(STATE_LENGTH);
    out.set(scalars, 0);
    out.set(season, SCALARS);
    out.set(seasonSeen, SCALARS + SEASON_BUCKETS);
    out.set(dayPeak, SCALARS + 2 * SEASON_BUCKETS);
    out.set(blockMax, SCALARS + 3 * SEASON_BUCKETS);
    out.set(blockMin, SCALARS + 3 * SEASON_BUCKETS + ENVELOPE_BLOCKS);
    out.set(likelihood, STATE_LENGTH - LIKELIHOOD_STATE);
    return out;
  }

  /** Loads a state written by `serialize()` (same layout version), e.g. after an agent restart. */
  function restore(state: Float64Array): void {
    if (state.length !== STATE_LENGTH || state[0] !== STATE_VERSION)
      throw new RangeError(`detector state must be a version ${STATE_VERSION} state from serialize()`);
    // Indices into the fixed arrays must be in range: a damaged state is refused, never half-loaded.
    const whole = (x: number | undefined, min: number, max: number) =>
      Number.isInteger(x) && (x as number) >= min && (x as number) <= max;
    if (
      !whole(state[1], 0, Number.MAX_SAFE_INTEGER) ||
      !whole(state[21], -1, SEASON_BUCKETS - 1) ||
      !whole(state[25], 0, ENVELOPE_BLOCK - 1) ||
      !whole(state[26], 0, ENVELOPE_BLOCKS - 1)
    )
      throw new RangeError('detector state is inconsistent (indices out of range)');
    let i = 1;
    const next = () => state[i++] as number;
    n = next();
    firstTimeMs = next();
    lastTimeMs = next();
    fast = next();
    spread = next();
    slow = next();
    baseSpread = next();
    plainSpread = next();
    short = next();
    slope = next();
    quantum = next();
    lastX = next();
    intervalMs = next();
    trendSinceMs = next();
    spikeTail = next();
    shiftTail = next();
    spikePeak = next();
    shiftPeak = next();
    sinceDetection = next();
    const lastDet = next();
    lastDetectionMs = Number.isNaN(lastDet) ? undefined : lastDet;
    bucketIndex = next();
    bucketSum = next();
    bucketCount = next();
    seasonalOn = next() === 1;
    blockFill = next();
    blockSlot = next();
    const counterValue = next();
    const counterTime = next();
    counter = Number.isNaN(counterValue) ? undefined : { lastValue: counterValue, lastTimeMs: counterTime };
    dayPeakTypical = next();
    flatRun = next();
    flatRecord = next();
    changes = next();
    flatSinceMs = next();
    season.set(state.subarray(SCALARS, SCALARS + SEASON_BUCKETS));
    seasonSeen.set(state.subarray(SCALARS + SEASON_BUCKETS, SCALARS + 2 * SEASON_BUCKETS));
    dayPeak.set(state.subarray(SCALARS + 2 * SEASON_BUCKETS, SCALARS + 3 * SEASON_BUCKETS));
    blockMax.set(
      state.subarray(SCALARS + 3 * SEASON_BUCKETS, SCALARS + 3 * SEASON_BUCKETS + ENVELOPE_BLOCKS),
    );
    blockMin.set(
      state.subarray(
        SCALARS + 3 * SEASON_BUCKETS + ENVELOPE_BLOCKS,
        SCALARS + 3 * SEASON_BUCKETS + 2 * ENVELOPE_BLOCKS,
      ),
    );
    likelihood.set(state.subarray(STATE_LENGTH - LIKELIHOOD_STATE));
  }

  if (state !== undefined) restore(state);

  return { update, snapshot, serialize };
}
