import { describe, expect, it } from 'vitest';
import { createSeriesDetector } from '../../../agent/detect/metrics/detector.ts';
import { createLikelihoodState, likelihoodStep } from '../../../agent/detect/metrics/likelihood.ts';
import { flagged, noiseSource } from './series-fixtures.ts';

describe('score likelihood stage', () => {
  it('stays near zero on a steady surprise and rises when the short-term surprise climbs', () => {
    const noise = noiseSource(11);
    const state = createLikelihoodState();
    let steadyMax = 0;
    for (let i = 0; i < 1500; i++) {
      const z = likelihoodStep(state, 0.1 + 0.03 * Math.abs(noise()), 300);
      if (i >= 300) steadyMax = Math.max(steadyMax, z);
    }
    let raised = 0;
    for (let i = 0; i < 20; i++) raised = Math.max(raised, likelihoodStep(state, 0.6, 300));
    expect(steadyMax).toBeLessThan(4.265);
    expect(raised).toBeGreaterThan(4.265);
  });

  it('says nothing before its minimum history, and nothing on a flat line that wiggles by a hair', () => {
    const state = createLikelihoodState();
    for (let i = 0; i < 100; i++) expect(likelihoodStep(state, i === 50 ? 1 : 0, 300)).toBe(0);
    const flat = createLikelihoodState();
    let max = 0;
    for (let i = 0; i < 600; i++) max = Math.max(max, likelihoodStep(flat, i === 400 ? 1e-6 : 0, 300));
    expect(max).toBeLessThan(1);
  });

  it('lets the detector flag spikes that grow denser, although each is the size of the earlier ones', () => {
    const noise = noiseSource(12);
    const values = Array.from({ length: 1600 }, (_, i) => {
      const every = i < 1200 ? 40 : 6;
      return 50 + noise() + (i % every === 0 ? 30 : 0);
    });
    const hits = flagged(createSeriesDetector(), values).filter((h) => h.index >= 400);
    expect(hits.filter((h) => h.index < 1200)).toEqual([]);
    expect(hits.some((h) => h.index >= 1200 && h.index < 1260)).toBe(true);
  });
});
