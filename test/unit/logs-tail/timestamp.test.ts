import { describe, expect, it } from 'vitest';
import { isRfc3339, parseRfc3339 } from '../../../agent/sources/logs/timestamp.ts';

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

  it('checks a timestamp without its value exactly as parsing accepts it', () => {
    const valid = ['2024-02-29T23:59:59.999Z', '2030-06-15T12:34:56.001-07:30', '2024-01-01t00:00:00z'];
    const invalid = [
      '2024-01-01 garbage',
      '2024-01-01T00:00:00',
      '2024-13-01T00:00:00Z',
      '2024-01-01T00:00:00+0100',
    ];
    for (const s of [...valid, ...invalid])
      expect(isRfc3339(Buffer.from(s), 0, s.length)).toBe(!Number.isNaN(parse(s)));
    expect(valid.every((s) => isRfc3339(Buffer.from(s), 0, s.length))).toBe(true);
    // A check between two parses does not change what the second returns (the minute cache is shared).
    const first = parse('2024-02-29T23:59:59.999Z');
    isRfc3339(Buffer.from('2030-06-15T12:34:56.001-07:30'), 0, 29);
    expect(parse('2024-02-29T23:59:59.999Z')).toBe(first);
  });
});
