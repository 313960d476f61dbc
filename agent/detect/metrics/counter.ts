// Turns a monotonically increasing counter into a per-second rate, surviving resets (process restart: the
// counter starts again near zero) and wraps (a 32- or 64-bit counter overflowing). Holds two numbers.

export interface CounterState {
  lastValue: number;
  lastTimeMs: number;
}

const WRAP_32 = 2 ** 32;
const WRAP_64 = 2 ** 64;

/**
 * Rate per second between the previous sample and this one, or undefined for the first sample, a
 * non-increasing time, or a reset. A decrease is a wrap when the previous value sat in the top quarter of a
 * 32/64-bit range and the new one in the bottom quarter; otherwise it is a reset (the process restarted)
 * and the interval is skipped: when in it the counter restarted is unknown, so its rate would be a guess.
 */
export function counterRate(
  state: CounterState | undefined,
  timeMs: number,
  value: number,
): number | undefined {
  if (state === undefined) return undefined;
  const dtSec = (timeMs - state.lastTimeMs) / 1000;
  if (!(dtSec > 0)) return undefined;
  let delta = value - state.lastValue;
  if (delta < 0) {
    const modulus = wrapModulus(state.lastValue);
    if (modulus === undefined || value >= modulus / 4) return undefined;
    delta = modulus - state.lastValue + value;
  }
  return delta / dtSec;
}

function wrapModulus(previous: number): number | undefined {
  if (previous >= WRAP_32 * 0.75 && previous < WRAP_32) return WRAP_32;
  if (previous >= WRAP_64 * 0.75 && previous <= WRAP_64) return WRAP_64;
  return undefined;
}
