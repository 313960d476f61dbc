// Timestamps of syslog lines. RFC 3339 (`2026-12-10T06:55:46.123+01:00`, rsyslog's high-precision format)
// is exact. The classic BSD form (`Dec 10 06:55:46`) has no year and no zone: we read it as UTC in the
// current year, unless that would put the line more than a day in the future (then the previous year) —
// so a December log read in January lands in the right year.

const MONTHS = ['Jan', 'Feb', 'Mar', 'Apr', 'May', 'Jun', 'Jul', 'Aug', 'Sep', 'Oct', 'Nov', 'Dec'];
const FUTURE_SLACK_MS = 86_400_000;

export interface SyslogPrefix {
  timeMs: number;
  /** Everything after the timestamp and one space. */
  rest: string;
}

const RFC3339 = /^(\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(?:\.\d+)?(?:Z|[+-]\d{2}:?\d{2}))\s+/;
const BSD = /^([A-Z][a-z]{2})\s+(\d{1,2})\s+(\d{2}):(\d{2}):(\d{2})\s+/;

/** Splits the timestamp off a syslog line; undefined when the line does not start with one. */
export function parseSyslogTime(line: string, nowMs: number): SyslogPrefix | undefined {
  const iso = RFC3339.exec(line);
  if (iso) {
    const timeMs = Date.parse(iso[1]!);
    if (Number.isNaN(timeMs)) return undefined;
    return { timeMs, rest: line.slice(iso[0].length) };
  }
  const bsd = BSD.exec(line);
  if (!bsd) return undefined;
  const month = MONTHS.indexOf(bsd[1]!);
  if (month < 0) return undefined;
  const [day, h, m, s] = [Number(bsd[2]), Number(bsd[3]), Number(bsd[4]), Number(bsd[5])];
  const year = new Date(nowMs).getUTCFullYear();
  let timeMs = Date.UTC(year, month, day, h, m, s);
  if (timeMs > nowMs + FUTURE_SLACK_MS) timeMs = Date.UTC(year - 1, month, day, h, m, s);
  return { timeMs, rest: line.slice(bsd[0].length) };
}
