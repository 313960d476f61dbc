// A counter's rate measured between two samples one second apart swings with the luck of that second: a
// bursty workload, or a counter that advances in steps. The simulator rewrites its cgroup and /proc counters
// once a second, and when it stalls under load and catches up, one read sees no change and the next two
// seconds' worth; the detector saw 0.04 → 0.1 cores as a 10σ spike and each opened an incident of one signal.
// So the detector scores rates over a span of several seconds, as the kubelet's and cAdvisor's CPU figures
// are (10–15 s): the time-weighted mean of the span's one-interval rates, which is the counter's rate over
// the span. Summaries keep the one-second samples (their min/max/mean are unchanged).

/** Span over which the detector sees counter rates. */
export const RATE_SPAN_MS = 5_000;

export class RateSpan {
  #startMs = Number.NaN;
  #lastMs = Number.NaN;
  #weighted = 0;
  readonly #spanMs: number;

  constructor(spanMs = RATE_SPAN_MS) {
    this.#spanMs = spanMs;
  }

  /**
   * Adds a rate measured over the interval ending at `timeMs` (since this series' previous sample). Returns the
   * mean rate of the span this sample completes, else undefined. The first sample only starts the span: the
   * interval it covers is unknown here.
   */
  add(timeMs: number, value: number): number | undefined {
    if (!Number.isFinite(value)) return undefined;
    if (Number.isNaN(this.#lastMs)) {
      this.#startMs = timeMs;
      this.#lastMs = timeMs;
      return undefined;
    }
    const dt = timeMs - this.#lastMs;
    if (!(dt > 0)) return undefined;
    this.#weighted += value * dt;
    this.#lastMs = timeMs;
    const covered = timeMs - this.#startMs;
    if (covered < this.#spanMs) return undefined;
    const mean = this.#weighted / covered;
    this.#startMs = timeMs;
    this.#weighted = 0;
    return mean;
  }
}
