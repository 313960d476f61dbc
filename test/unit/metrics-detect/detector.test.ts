import { describe, expect, it } from 'vitest';
import { createSeriesDetector } from '../../../agent/detect/metrics/detector.ts';
import { flagged, MIN, noiseSource, T0 } from './series-fixtures.ts';

function noisy(n: number, seed: number, f: (i: number) => number, sigma = 1): number[] {
  const noise = noiseSource(seed);
  return Array.from({ length: n }, (_, i) => f(i) + sigma * noise());
}

describe('series detector', () => {
  it('flags a single spike where it happens and nothing in the noise before it', () => {
    const values = noisy(600, 1, (i) => (i === 400 ? 65 : 50));
    const hits = flagged(createSeriesDetector(), values);
    expect(hits.filter((h) => h.index >= 100 && h.index < 400)).toEqual([]);
    expect(hits.some((h) => h.index === 400 && h.kind === 'spike')).toBe(true);
  });

  it('flags a level shift once, within a few samples, then learns the new level', () => {
    const values = noisy(900, 2, (i) => (i < 400 ? 50 : 60));
    const hits = flagged(createSeriesDetector(), values).filter((h) => h.index >= 100);
    expect(hits[0]?.index).toBeGreaterThanOrEqual(400);
    expect(hits[0]?.index).toBeLessThanOrEqual(405);
    expect(hits.filter((h) => h.index > 520)).toEqual([]);
  });

  it('flags a ramp that departs from a flat baseline as it builds up', () => {
    const values = noisy(700, 3, (i) => (i < 400 ? 50 : 50 + 0.25 * (i - 400)));
    const hits = flagged(createSeriesDetector(), values).filter((h) => h.index >= 100);
    expect(hits[0]?.index).toBeGreaterThanOrEqual(400);
    expect(hits[0]?.index).toBeLessThan(460);
  });

  it('learns a daily pattern: silent on ordinary days, flags a day that breaks it', () => {
    const step = 10 * MIN;
    const perDay = 144;
    const noise = noiseSource(4);
    const values = Array.from({ length: 10 * perDay }, (_, i) => {
      const phase = (2 * Math.PI * (i % perDay)) / perDay;
      const normal = 50 + 20 * Math.sin(phase);
      // Day 8, from 06:00 to 12:00: stuck at the night level.
      const broken = i >= 8 * perDay + 36 && i < 8 * perDay + 72;
      return (broken ? 30 : normal) + noise();
    });
    const detector = createSeriesDetector();
    const hits = flagged(detector, values, step);
    expect(detector.snapshot().seasonal).toBe(true);
    expect(hits.filter((h) => h.index >= 3 * perDay && h.index < 8 * perDay)).toEqual([]);
    expect(hits.some((h) => h.index >= 8 * perDay + 36 && h.index < 8 * perDay + 72)).toBe(true);
  });

  it('stays silent on a flat line and on a tiny wiggle of it, but flags a real jump', () => {
    const values = Array.from({ length: 600 }, (_, i) => (i === 300 ? 5.000001 : i >= 500 ? 50 : 5));
    const detector = createSeriesDetector();
    const scores: number[] = [];
    const hits: number[] = [];
    values.forEach((v, i) => {
      const r = detector.update(T0 + i * MIN, v);
      scores.push(r.score);
      if (r.anomaly) hits.push(i);
    });
    expect(scores.every((s) => Number.isFinite(s) && s >= 0 && s <= 1)).toBe(true);
    expect(hits).toEqual([500]);
  });

  it('skips NaN values and survives gaps without flagging them', () => {
    const detector = createSeriesDetector();
    const noise = noiseSource(5);
    let t = T0;
    const hits: number[] = [];
    for (let i = 0; i < 800; i++) {
      t += i === 400 ? 6 * 60 * MIN : MIN; // a six-hour gap
      const v = i % 50 === 7 ? Number.NaN : 50 + noise();
      const r = detector.update(t, v);
      if (Number.isNaN(v)) expect(r).toMatchObject({ score: 0, anomaly: false });
      if (r.anomaly) hits.push(i);
    }
    expect(hits.filter((i) => i >= 100)).toEqual([]);
    expect(Number.isFinite(detector.snapshot().level)).toBe(true);
  });

  it('ignores samples whose time does not advance', () => {
    const detector = createSeriesDetector();
    detector.update(T0, 1);
    expect(detector.update(T0, 1000)).toMatchObject({ score: 0, anomaly: false });
    expect(detector.snapshot().samples).toBe(1);
  });

  it('scores a counter by its rate across resets and 32-bit wraps, and flags a rate surge', () => {
    const detector = createSeriesDetector({ mode: 'counter' });
    const noise = noiseSource(6);
    let counter = 2 ** 32 - 100 * 60 * 350; // wraps after about 350 samples
    const hits: number[] = [];
    for (let i = 0; i < 900; i++) {
      const rate = i >= 800 ? 1000 : 100 + 2 * noise();
      counter += rate * 60;
      if (counter >= 2 ** 32) counter -= 2 ** 32; // wrap
      if (i === 600) counter = 50; // process restart: counter starts again
      const r = detector.update(T0 + i * MIN, counter);
      if (r.anomaly) hits.push(i);
    }
    expect(hits.filter((i) => i >= 100 && i < 800)).toEqual([]);
    expect(hits.some((i) => i >= 800 && i < 805)).toBe(true);
  });

  it('flags a value that freezes for longer than the series has ever stayed still, once', () => {
    const values = noisy(900, 12, () => 50);
    for (let i = 600; i < 900; i++) values[i] = values[599] as number;
    const hits = flagged(createSeriesDetector(), values);
    expect(hits).toEqual([{ index: 659, kind: 'flatline' }]);
  });

  it('keeps counting a freeze across skipped NaN samples and a gap, and flags it once', () => {
    const values = noisy(900, 15, () => 50);
    for (let i = 600; i < 900; i++) values[i] = i % 10 === 3 ? Number.NaN : 50.2; // stuck near the usual level
    const detector = createSeriesDetector();
    const hits: Array<{ index: number; kind: string | undefined }> = [];
    values.forEach((v, i) => {
      const r = detector.update(T0 + i * MIN + (i >= 700 ? 3 * 60 * MIN : 0), v); // a 3-hour gap at 700
      if (r.anomaly) hits.push({ index: i, kind: r.kind });
    });
    expect(hits.filter((h) => h.index >= 100)).toHaveLength(1);
    expect(hits.find((h) => h.index >= 600)?.kind).toBe('flatline');
  });

  it('takes the quiet spells a series always has as normal, but flags one far longer than any before', () => {
    // Bursts of activity separated by 80-sample silences at zero; the 6th silence lasts 400 samples.
    const noise = noiseSource(13);
    const values: number[] = [];
    for (let spell = 0; spell < 7; spell++) {
      for (let i = 0; i < 40; i++) values.push(20 + 5 * noise());
      for (let i = 0; i < (spell === 5 ? 400 : 80); i++) values.push(0);
    }
    const flat = flagged(createSeriesDetector(), values).filter((h) => h.kind === 'flatline');
    const longStart = 5 * 120 + 40;
    expect(flat.filter((h) => h.index >= 2 * 120 && h.index < longStart)).toEqual([]);
    expect(flat.filter((h) => h.index >= longStart && h.index < longStart + 400)).toHaveLength(1);
  });

  it('raises one alert for a disturbance that keeps going, not one per hold-off', () => {
    // Growing bursts every 60 samples for 400 samples: each would be a new alert once a hold-off expired.
    const noise = noiseSource(11);
    const values = Array.from({ length: 1200 }, (_, i) => {
      const k = (i - 400) / 60;
      const burst = i >= 400 && i < 800 && Number.isInteger(k) ? 15 * 1.5 ** k : 0;
      return 50 + burst + noise();
    });
    expect(flagged(createSeriesDetector(), values)).toEqual([{ index: 400, kind: 'spike' }]);
  });

  it('keeps a fixed-size state however long it runs', () => {
    const detector = createSeriesDetector();
    const noise = noiseSource(7);
    for (let i = 0; i < 1000; i++) detector.update(T0 + i * 1000, 10 + noise());
    const early = detector.serialize().byteLength;
    for (let i = 1000; i < 50_000; i++) detector.update(T0 + i * 1000, 10 + noise());
    expect(detector.serialize().byteLength).toBe(early);
    expect(early).toBeLessThan(2048);
  });

  it('rejects invalid options with the option named', () => {
    expect(() => createSeriesDetector({ zThreshold: 0 })).toThrow('options.zThreshold');
    expect(() => createSeriesDetector({ holdoffSamples: -1 })).toThrow('options.holdoffSamples');
  });
});

describe('series detector state', () => {
  it('continues from a serialised state exactly as if it had never stopped', () => {
    const noise = noiseSource(8);
    const values = Array.from({ length: 1200 }, (_, i) => (i === 1000 ? 80 : 50 + noise()));
    const whole = createSeriesDetector();
    const first = createSeriesDetector();
    const outWhole = values.map((v, i) => whole.update(T0 + i * MIN, v));
    for (const [i, v] of values.slice(0, 600).entries()) first.update(T0 + i * MIN, v);
    const resumed = createSeriesDetector({}, first.serialize());
    const outResumed = values.slice(600).map((v, i) => resumed.update(T0 + (600 + i) * MIN, v));
    expect(outResumed).toEqual(outWhole.slice(600));
    expect(outResumed[400]?.anomaly).toBe(true);
  });

  it('continues a flat run across a restart', () => {
    const values = noisy(900, 14, () => 50);
    for (let i = 570; i < 900; i++) values[i] = values[569] as number;
    const whole = createSeriesDetector();
    const first = createSeriesDetector();
    const outWhole = values.map((v, i) => whole.update(T0 + i * MIN, v));
    for (const [i, v] of values.slice(0, 600).entries()) first.update(T0 + i * MIN, v);
    const resumed = createSeriesDetector({}, first.serialize());
    const outResumed = values.slice(600).map((v, i) => resumed.update(T0 + (600 + i) * MIN, v));
    expect(outResumed).toEqual(outWhole.slice(600));
    expect(outResumed.filter((r) => r.anomaly).map((r) => r.kind)).toEqual(['flatline']);
  });

  it('rejects a state that is not one of its own', () => {
    expect(() => createSeriesDetector({}, new Float64Array(10))).toThrow('detector state');
  });
});
