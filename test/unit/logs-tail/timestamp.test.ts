import { describe, expect, it } from 'vitest';
import { parseRfc3339 } from '../../../agent/sources/logs/timestamp.ts';

const parse = (s: string) => parseRfc3339(Buffer.from(s), 0, s.length);

describe('RFC 3339 parsing from bytes', () => {
  it('agrees with Date.parse on millisecond timestamps', () => {
    for (const s of ['2024-02-29T23:59:59.999Z', '1999-12-31T00:00:00Z', '2030-06-15T12:34:56.001-07:30']) {
      expect(parse(s)).toBe(Date.parse(s));
    }
  });

  it('drops digits beyond milliseconds', () => {
    expect(parse('2024-01-01T00:00:00.123456789Z')).toBe(Date.UTC(2024, 0, 1, 0, 0, 0, 123));
  });

  it('returns NaN for anything else', () => {
    for (const s of ['2024-01-01 garbage', '2024-01-01T00:00:00', '2024-01-01T00:00:0xZ', 'x'.repeat(30)]) {
      expect(parse(s)).toBeNaN();
    }
  });
});
