// Turns metric detections and exhaustion forecasts into the common Signal model, with one-line
// explanations a person can act on, e.g.
//   "memory of payments-7f9c grew 3.1 %/min for 40 min, 5.2σ above its usual level (400 MB)"
//   "node disk / will be full in ~42 min (30–55 min) at 180 MB/min"

import type { Severity, Signal, Subject } from '../../../common/signal.ts';
import type { SeriesUpdate } from './detector.ts';
import type { Forecast } from './forecast.ts';

export type MetricUnit = 'bytes' | 'percent' | 'count' | 'seconds' | 'cores' | 'none';

/** Which series a detection is about, and how to speak of it. */
export interface SeriesIdentity {
  subject: Subject;
  /** Metric name, e.g. `container_memory_bytes`. */
  metric: string;
  /** How people call it, e.g. `memory of payments-7f9c` or `node disk /`. */
  label: string;
  unit: MetricUnit;
}

export const METRIC_SIGNAL_SOURCE = 'metrics.detector';
export const FORECAST_SIGNAL_SOURCE = 'metrics.forecast';

const MIN = 60_000;

/** Compact human value: decimal units for bytes (MB, GB), plain for others. */
export function formatValue(value: number, unit: MetricUnit): string {
  if (!Number.isFinite(value)) return String(value);
  if (unit === 'percent') return `${round(value)} %`;
  if (unit === 'seconds') return `${round(value)} s`;
  if (unit === 'cores') return `${round(value)} cores`;
  if (unit === 'bytes') {
    const abs = Math.abs(value);
    const scales: Array<[number, string]> = [
      [1e12, 'TB'],
      [1e9, 'GB'],
      [1e6, 'MB'],
      [1e3, 'kB'],
    ];
    for (const [scale, name] of scales) if (abs >= scale) return `${round(value / scale)} ${name}`;
    return `${round(value)} B`;
  }
  return round(value);
}

function round(v: number): string {
  const abs = Math.abs(v);
  if (abs >= 100) return v.toFixed(0);
  if (abs >= 10) return v.toFixed(1);
  return Number(v.toPrecision(2)).toString();
}

export function formatDuration(ms: number): string {
  if (!Number.isFinite(ms)) return 'never';
  const minutes = ms / MIN;
  if (minutes < 1) return `${Math.max(0, Math.round(ms / 1000))} s`;
  if (minutes < 120) return `${Math.round(minutes)} min`;
  const hours = minutes / 60;
  if (hours < 48) return `${round(hours)} h`;
  return `${round(hours / 24)} d`;
}

function severityFromScore(score: number): Severity {
  if (score >= 0.95) return 'error';
  return 'warning';
}

/** A Signal for a detection (`update.anomaly`), or undefined when the update is not one. */
export function anomalySignal(id: SeriesIdentity, timeMs: number, update: SeriesUpdate): Signal | undefined {
  if (!update.anomaly) return undefined;
  const kind = update.kind ?? 'spike';
  const sigmas =
    update.sigma > 0 ? Math.abs(update.value - update.expected) / update.sigma : Number.POSITIVE_INFINITY;
  const sigmaText = Number.isFinite(sigmas) ? `${sigmas.toFixed(1)}σ` : 'far';
  const direction = update.value >= update.expected ? 'above' : 'below';
  const usual = formatValue(update.baseline, id.unit);
  let explanation: string;
  if (kind === 'trend') {
    const ratePerMin = update.ratePerSec * 60;
    const relative = update.baseline !== 0 ? (100 * ratePerMin) / Math.abs(update.baseline) : Number.NaN;
    const rate = Number.isFinite(relative)
      ? `${Math.abs(relative).toFixed(1)} %/min`
      : `${formatValue(Math.abs(ratePerMin), id.unit)}/min`;
    const verb = ratePerMin >= 0 ? 'grew' : 'fell';
    const since = Number.isFinite(update.trendSinceMs)
      ? ` for ${formatDuration(timeMs - update.trendSinceMs)}`
      : '';
    explanation = `${id.label} ${verb} ${rate}${since}, ${sigmaText} ${direction} its usual level (${usual})`;
  } else if (kind === 'flatline') {
    const since = Number.isFinite(update.unchangedSinceMs)
      ? ` for ${formatDuration(timeMs - update.unchangedSinceMs)}`
      : '';
    explanation = `${id.label} has not changed${since} (stuck at ${formatValue(update.value, id.unit)}), longer than ever before`;
  } else if (kind === 'level_shift') {
    explanation = `${id.label} shifted to ${formatValue(update.value, id.unit)}, ${sigmaText} ${direction} its usual level (${usual})`;
  } else {
    explanation = `${id.label} spiked to ${formatValue(update.value, id.unit)}, ${sigmaText} ${direction} the expected ${formatValue(update.expected, id.unit)}`;
  }
  return {
    kind: `metric.${kind}`,
    subject: id.subject,
    timeMs,
    severity: severityFromScore(update.score),
    score: update.score,
    explanation,
    evidence: {
      values: {
        value: update.value,
        expected: update.expected,
        baseline: update.baseline,
        sigma: update.sigma,
        ratePerSec: update.ratePerSec,
      },
      attributes: { metric: id.metric },
    },
    source: METRIC_SIGNAL_SOURCE,
  };
}

/** A Signal when a forecast opens a warning episode (`forecast.started`), else undefined. */
export function forecastSignal(
  id: SeriesIdentity,
  forecast: Forecast,
  horizonMs = 3_600_000,
): Signal | undefined {
  if (!forecast.started || forecast.etaMs === undefined) return undefined;
  const eta = forecast.etaMs;
  const low = forecast.etaLowMs ?? eta;
  const high = forecast.etaHighMs ?? Number.POSITIVE_INFINITY;
  const range = Number.isFinite(high)
    ? `${formatDuration(low).replace(/ (min|s|h|d)$/, '')}–${formatDuration(high)}`
    : `at least ${formatDuration(low)}`;
  const rate = `${formatValue(forecast.ratePerSec * 60, id.unit)}/min`;
  const used = forecast.capacity > 0 ? (100 * forecast.level) / forecast.capacity : Number.NaN;
  const explanation = `${id.label} will be full in ~${formatDuration(eta)} (${range}) at ${rate}, now ${Number.isFinite(used) ? `${used.toFixed(0)} %` : formatValue(forecast.level, id.unit)} of ${formatValue(forecast.capacity, id.unit)}`;
  const severity: Severity = eta <= horizonMs / 4 ? 'critical' : 'error';
  return {
    kind: 'metric.exhaustion_forecast',
    subject: id.subject,
    timeMs: forecast.timeMs,
    severity,
    score: Math.max(0, Math.min(1, 1 - eta / (2 * horizonMs))),
    explanation,
    evidence: {
      values: {
        etaSeconds: eta / 1000,
        etaLowSeconds: low / 1000,
        etaHighSeconds: Number.isFinite(high) ? high / 1000 : -1,
        level: forecast.level,
        capacity: forecast.capacity,
        ratePerSec: forecast.ratePerSec,
        trendSpanSeconds: forecast.trendSpanMs / 1000,
      },
      attributes: { metric: id.metric },
    },
    source: FORECAST_SIGNAL_SOURCE,
  };
}
