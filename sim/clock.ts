// Simulated time runs `speed` times faster than the wall clock. Durations inside the simulation (fault
// offsets, back-offs, readiness delays) are simulated milliseconds; timestamps written into objects and
// files are wall-clock, so agents reading them see ordinary, current times.

export interface SimClock {
  readonly speed: number;
  /** Simulated milliseconds since the simulation started. */
  elapsedMs(): number;
  /** Wall-clock Unix milliseconds. */
  wallMs(): number;
  /** Real milliseconds that correspond to `simMs` of simulated time. */
  realMs(simMs: number): number;
}

export function createClock(speed = 1, now: () => number = Date.now): SimClock {
  if (!(speed > 0)) throw new Error(`speed must be a positive number, got ${speed}`);
  const start = now();
  return {
    speed,
    elapsedMs: () => (now() - start) * speed,
    wallMs: now,
    realMs: (simMs) => simMs / speed,
  };
}

export function isoTime(ms: number): string {
  return new Date(ms).toISOString().replace(/\.\d{3}Z$/, 'Z');
}

/** RFC 3339 with nanoseconds, as CRI log lines and audit events carry. */
export function isoNanos(ms: number): string {
  const iso = new Date(ms).toISOString();
  return `${iso.slice(0, 23)}000000Z`;
}
