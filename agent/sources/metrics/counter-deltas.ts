// Deltas of monotonically increasing kernel counters between two samples. A value below the previous one is
// a reset (a container restarted in the same cgroup, a counter wrapped, a module reloaded): that delta is
// skipped and the new value becomes the baseline. Entries not touched by a sample are dropped by `sweep`,
// so removed containers and interfaces do not accumulate.

interface Previous {
  value: number;
  timeMs: number;
  generation: number;
}

export interface Delta {
  delta: number;
  elapsedMs: number;
}

/** One counter's previous reading, for a hot path that keeps its counters in its own records. */
export class CounterCell {
  private value = Number.NaN;
  private timeMs = 0;
  /** Set by `update` when it returns true. */
  delta = 0;
  elapsedMs = 0;

  /** Records a reading; true when there is a delta (not the first reading, not a reset, time passed). */
  update(value: number, timeMs: number): boolean {
    const delta = value - this.value;
    const elapsedMs = timeMs - this.timeMs;
    this.value = value;
    this.timeMs = timeMs;
    if (!(delta >= 0) || !(elapsedMs > 0)) return false;
    this.delta = delta;
    this.elapsedMs = elapsedMs;
    return true;
  }

  /** Per-second rate of the last update. */
  get rate(): number {
    return (this.delta * 1000) / this.elapsedMs;
  }
}

export class CounterDeltas {
  private readonly previous = new Map<string, Previous>();
  private generation = 0;

  /** The increase since the last reading of `key`, or undefined for a first reading or a reset. */
  delta(key: string, value: number, timeMs: number): Delta | undefined {
    const p = this.previous.get(key);
    if (p === undefined) {
      this.previous.set(key, { value, timeMs, generation: this.generation });
      return undefined;
    }
    const delta = value - p.value;
    const elapsedMs = timeMs - p.timeMs;
    p.value = value;
    p.timeMs = timeMs;
    p.generation = this.generation;
    if (delta < 0 || !(elapsedMs > 0)) return undefined;
    return { delta, elapsedMs };
  }

  /** Per-second rate of `key`, or undefined for a first reading or a reset. */
  rate(key: string, value: number, timeMs: number): number | undefined {
    const d = this.delta(key, value, timeMs);
    return d === undefined ? undefined : (d.delta * 1000) / d.elapsedMs;
  }

  /** Forgets keys the sample just finished did not touch; starts the next sample. */
  sweep(): void {
    for (const [k, p] of this.previous) if (p.generation !== this.generation) this.previous.delete(k);
    this.generation++;
  }

  get size(): number {
    return this.previous.size;
  }
}
