import { describe, expect, it } from 'vitest';
import { backoffDelay } from '../../../common/grpc/backoff.ts';

describe('backoffDelay', () => {
  it('grows exponentially up to the cap, with full jitter', () => {
    expect(backoffDelay(0, 250, 30_000, () => 1)).toBe(250);
    expect(backoffDelay(3, 250, 30_000, () => 1)).toBe(2000);
    expect(backoffDelay(20, 250, 30_000, () => 1)).toBe(30_000);
    expect(backoffDelay(3, 250, 30_000, () => 0)).toBe(0);
    expect(backoffDelay(3, 250, 30_000, () => 0.5)).toBe(1000);
  });
});
