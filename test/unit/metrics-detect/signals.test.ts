import { describe, expect, it } from 'vitest';
import type { SeriesUpdate } from '../../../agent/detect/metrics/detector.ts';
import type { Forecast } from '../../../agent/detect/metrics/forecast.ts';
import {
  anomalySignal,
  forecastSignal,
  formatValue,
  type SeriesIdentity,
} from '../../../agent/detect/metrics/signals.ts';
import { MIN, T0 } from './series-fixtures.ts';

const memory: SeriesIdentity = {
  subject: { kind: 'pod', namespace: 'shop', pod: 'payments-7f9c', node: 'node-7' },
  metric: 'container_memory_bytes',
  label: 'memory of payments-7f9c',
  unit: 'bytes',
};

const update = (over: Partial<SeriesUpdate>): SeriesUpdate => ({
  score: 0.9,
  anomaly: true,
  expected: 400e6,
  sigma: 80e6,
  value: 816e6,
  baseline: 400e6,
  ratePerSec: (0.031 * 400e6) / 60,
  trendSinceMs: T0,
  unchangedSinceMs: T0,
  ...over,
});

describe('metric signals', () => {
  it('explains a trend with its rate, its duration and how far it sits from the usual level', () => {
    const s = anomalySignal(memory, T0 + 40 * MIN, update({ kind: 'trend' }));
    expect(s?.kind).toBe('metric.trend');
    expect(s?.explanation).toBe(
      'memory of payments-7f9c grew 3.1 %/min for 40 min, 5.2σ above its usual level (400 MB)',
    );
    expect(s?.subject.pod).toBe('payments-7f9c');
    expect(s?.source).toBe('metrics.detector');
  });

  it('explains a spike against what was expected', () => {
    const s = anomalySignal(memory, T0, update({ kind: 'spike' }));
    expect(s?.explanation).toBe('memory of payments-7f9c spiked to 816 MB, 5.2σ above the expected 400 MB');
  });

  it('explains a flatline with how long the value has not changed', () => {
    const s = anomalySignal(memory, T0 + 90 * MIN, update({ kind: 'flatline', value: 400e6 }));
    expect(s?.kind).toBe('metric.flatline');
    expect(s?.explanation).toBe(
      'memory of payments-7f9c has not changed for 90 min (stuck at 400 MB), longer than ever before',
    );
  });

  it('emits nothing for an update that is not a detection', () => {
    expect(anomalySignal(memory, T0, update({ anomaly: false }))).toBeUndefined();
  });

  it('explains an exhaustion forecast with its interval and rate', () => {
    const disk: SeriesIdentity = {
      subject: { kind: 'node', node: 'node-3' },
      metric: 'filesystem_used_bytes',
      label: 'node disk /',
      unit: 'bytes',
    };
    const forecast: Forecast = {
      warning: true,
      started: true,
      etaMs: 42 * MIN,
      etaLowMs: 30 * MIN,
      etaHighMs: 55 * MIN,
      ratePerSec: 3e6,
      trendSpanMs: 60 * MIN,
      level: 992.4e9,
      capacity: 1e12,
      timeMs: T0,
    };
    const s = forecastSignal(disk, forecast);
    expect(s?.kind).toBe('metric.exhaustion_forecast');
    expect(s?.explanation).toBe(
      'node disk / will be full in ~42 min (30–55 min) at 180 MB/min, now 99 % of 1 TB',
    );
    expect(s?.severity).toBe('error');
    expect(forecastSignal(disk, { ...forecast, started: false })).toBeUndefined();
  });

  it('formats values in human units', () => {
    expect(formatValue(1536, 'bytes')).toBe('1.5 kB');
    expect(formatValue(42.31, 'percent')).toBe('42.3 %');
  });
});
