// Seeded synthetic usage series for the exhaustion-forecast benchmark and tests: leaks and fills with a
// known exhaustion time, and non-leaking look-alikes that must never warn.

export interface ForecastScenario {
  name: string;
  /** Does the series reach its capacity? */
  exhausts: boolean;
  capacity: number;
  durationMs: number;
  stepMs: number;
  /** Usage at time t (ms from start); `noise` is a seeded standard normal source. */
  usage: (tMs: number, noise: () => number) => number;
}

const MIN = 60_000;
const HOUR = 60 * MIN;
const DAY = 24 * HOUR;
const MiB = 1024 * 1024;

/** mulberry32 — small, fast, seeded. */
export function seededRandom(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/** Standard normal from a uniform source (Box–Muller). */
export function gaussian(uniform: () => number): () => number {
  return () => {
    const u = Math.max(uniform(), 1e-12);
    return Math.sqrt(-2 * Math.log(u)) * Math.cos(2 * Math.PI * uniform());
  };
}

const ramp = (t: number, start: number) => Math.max(0, t - start);

export const FORECAST_SCENARIOS: ForecastScenario[] = [
  {
    name: 'linear leak (0.5 %/min)',
    exhausts: true,
    capacity: 100,
    durationMs: 6 * HOUR,
    stepMs: 10_000,
    usage: (t, n) => 40 + 0.5 * (ramp(t, 2 * HOUR) / MIN) + 1 * n(),
  },
  {
    name: 'slow linear leak (0.1 %/min)',
    exhausts: true,
    capacity: 100,
    durationMs: 12 * HOUR,
    stepMs: 10_000,
    usage: (t, n) => 50 + 0.1 * (ramp(t, 2 * HOUR) / MIN) + 0.5 * n(),
  },
  {
    name: 'accelerating leak (exponential, τ 40 min)',
    exhausts: true,
    capacity: 100,
    durationMs: 8 * HOUR,
    stepMs: 10_000,
    usage: (t, n) => 30 + (t > 2 * HOUR ? 2 * Math.exp(ramp(t, 2 * HOUR) / (40 * MIN)) - 2 : 0) + 1 * n(),
  },
  {
    name: 'accelerating leak (quadratic)',
    exhausts: true,
    capacity: 100,
    durationMs: 8 * HOUR,
    stepMs: 10_000,
    usage: (t, n) => 35 + 0.0012 * (ramp(t, 2 * HOUR) / MIN) ** 2 + 1 * n(),
  },
  {
    name: 'step then linear (30→60, then 0.3 %/min)',
    exhausts: true,
    capacity: 100,
    durationMs: 8 * HOUR,
    stepMs: 10_000,
    usage: (t, n) => (t < 2 * HOUR ? 30 : 60 + 0.3 * (ramp(t, 2 * HOUR) / MIN)) + 1 * n(),
  },
  {
    name: 'leak on a daily pattern (0.08 %/min, ±8 % daily)',
    exhausts: true,
    capacity: 100,
    durationMs: 2 * DAY,
    stepMs: 10_000,
    usage: (t, n) =>
      45 + 8 * Math.sin((2 * Math.PI * t) / DAY) + 0.08 * (ramp(t, 6 * HOUR) / MIN) + 1.5 * n(),
  },
  {
    name: 'noisy leak (0.4 %/min, σ 4 %)',
    exhausts: true,
    capacity: 100,
    durationMs: 6 * HOUR,
    stepMs: 10_000,
    usage: (t, n) => 40 + 0.4 * (ramp(t, 2 * HOUR) / MIN) + 4 * n(),
  },
  {
    name: 'container memory vs 512 MiB limit (2 MiB/min)',
    exhausts: true,
    capacity: 512 * MiB,
    durationMs: 6 * HOUR,
    stepMs: 5_000,
    usage: (t, n) => 200 * MiB + 2 * MiB * (ramp(t, HOUR) / MIN) + 3 * MiB * n(),
  },
  {
    name: 'disk fill (180 MB/min, 1 TB disk)',
    exhausts: true,
    capacity: 1e12,
    durationMs: 14 * HOUR,
    stepMs: 15_000,
    usage: (t, n) => 0.9e12 + 180e6 * (ramp(t, 2 * HOUR) / MIN) + 50e6 * n(),
  },
  {
    // A pod that leaks from the moment it is first watched: warned once a whole ring (1 h) has been seen.
    name: 'leak from the first sample (0.5 %/min from 40 %)',
    exhausts: true,
    capacity: 100,
    durationMs: 4 * HOUR,
    stepMs: 10_000,
    usage: (t, n) => 40 + 0.5 * (t / MIN) + 1 * n(),
  },
  {
    // The slow GC sawtooth's first climb, carried on to the limit: nothing seen before 40 min tells them
    // apart, so no rule can warn it 30 min ahead without warning the sawtooth too. Shown for honesty.
    name: 'fast leak from the first sample (1.375 %/min from 35 %, the sawtooth’s twin)',
    exhausts: true,
    capacity: 100,
    durationMs: 4 * HOUR,
    stepMs: 10_000,
    usage: (t, n) => 35 + 1.375 * (t / MIN) + 1 * n(),
  },
  {
    name: 'look-alike: daily sawtooth (20→85 % over a day)',
    exhausts: false,
    capacity: 100,
    durationMs: 3 * DAY,
    stepMs: 10_000,
    usage: (t, n) => 20 + 65 * ((t % DAY) / DAY) + 1 * n(),
  },
  {
    name: 'look-alike: GC sawtooth (40→80 % every 8 min)',
    exhausts: false,
    capacity: 100,
    durationMs: 12 * HOUR,
    stepMs: 5_000,
    usage: (t, n) => 40 + 40 * ((t % (8 * MIN)) / (8 * MIN)) + 1 * n(),
  },
  {
    name: 'look-alike: slow GC sawtooth (35→90 % every 40 min)',
    exhausts: false,
    capacity: 100,
    durationMs: 12 * HOUR,
    stepMs: 10_000,
    usage: (t, n) => 35 + 55 * ((t % (40 * MIN)) / (40 * MIN)) + 1 * n(),
  },
  {
    name: 'look-alike: step then flat (30→80 %)',
    exhausts: false,
    capacity: 100,
    durationMs: 12 * HOUR,
    stepMs: 10_000,
    usage: (t, n) => (t < 4 * HOUR ? 30 : 80) + 1 * n(),
  },
  {
    name: 'look-alike: white noise (60 %, σ 6 %)',
    exhausts: false,
    capacity: 100,
    durationMs: 12 * HOUR,
    stepMs: 10_000,
    usage: (_t, n) => 60 + 6 * n(),
  },
  {
    name: 'look-alike: daily sine (30–80 %)',
    exhausts: false,
    capacity: 100,
    durationMs: 3 * DAY,
    stepMs: 10_000,
    usage: (t, n) => 55 + 25 * Math.sin((2 * Math.PI * t) / DAY) + 1 * n(),
  },
  {
    name: 'look-alike: cache warm-up plateau (→ 75 %, τ 60 min)',
    exhausts: false,
    capacity: 100,
    durationMs: 12 * HOUR,
    stepMs: 10_000,
    usage: (t, n) => 5 + 70 * (1 - Math.exp(-t / (60 * MIN))) + 1 * n(),
  },
];
