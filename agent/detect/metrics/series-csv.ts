// Parsing of `timestamp,value` rows (NAB's layout) for the detect-series command and the benchmarks.

export type ParsedRow =
  | { ok: true; timestamp: string; timeMs: number; value: number }
  | { ok: false; timestamp: string; reason: string };

/**
 * Parses a timestamp as NAB writes it (`2014-04-10 07:15:00`, read as UTC), an ISO 8601 string, or a Unix
 * time in seconds (< 1e11) or milliseconds. Returns NaN when it is none of these.
 */
export function parseTimestamp(text: string): number {
  const t = text.trim();
  if (t === '') return Number.NaN;
  if (/^-?\d+(\.\d+)?$/.test(t)) {
    const num = Number(t);
    return Math.abs(num) < 1e11 ? num * 1000 : num;
  }
  const m = /^(\d{4})-(\d{2})-(\d{2})[ T](\d{2}):(\d{2})(?::(\d{2})(\.\d+)?)?$/.exec(t);
  if (m) {
    const [, y, mo, d, h, mi, s, frac] = m;
    const ms = frac ? Math.round(Number(frac) * 1000) : 0;
    return Date.UTC(Number(y), Number(mo) - 1, Number(d), Number(h), Number(mi), Number(s ?? 0), ms);
  }
  return Date.parse(t);
}

/** Splits one data line into its timestamp (echoed exactly) and value; never throws. */
export function parseRow(line: string): ParsedRow {
  const text = line.endsWith('\r') ? line.slice(0, -1) : line;
  const comma = text.indexOf(',');
  if (comma < 0) return { ok: false, timestamp: text, reason: 'no comma separating timestamp and value' };
  const timestamp = text.slice(0, comma);
  const valueText = text.slice(comma + 1).trim();
  const timeMs = parseTimestamp(timestamp);
  if (!Number.isFinite(timeMs))
    return { ok: false, timestamp, reason: `unreadable timestamp '${timestamp}'` };
  const value = valueText === '' ? Number.NaN : Number(valueText);
  if (!Number.isFinite(value))
    return { ok: false, timestamp, reason: `value '${valueText}' is not a finite number` };
  return { ok: true, timestamp, timeMs, value };
}
