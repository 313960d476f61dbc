// Turns a monotonically increasing counter into a per-second rate, surviving resets (process restart: the
// counter starts again near zero) and wraps (a 32- or 64-bit counter overflowing). Holds two numbers.

export interface CounterState {
  lastValue: number;
  lastTimeMs: number;
}

const WRAP_32 = 2 ** 32;
const WRAP_64 = 2 ** 64;

/**
 * Rate per second between the previous sample and this one, or undefined for the first sample or a
 * non-increasing time. A decrease is a wrap when the previous value sat in the top quarter of a 32/64-bit
 * range and the new one in the bottom quarter; otherwise it is a reset and the new value is the increase.
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
    delta = modulus !== undefined && value < modulus / 4 ? modulus - state.lastValue + value : value;
  }
  return delta / dtSec;
}

function wrapModulus(previous: number): number | undefined {
  if (previous >= WRAP_32 * 0.75 && previous < WRAP_32) return WRAP_32;
  if (previous >= WRAP_64 * 0.75 && previous <= WRAP_64) return WRAP_64;
  return undefined;
}
