import { describe, expect, it } from 'vitest';
import { maskLine, WILDCARD } from '../../../agent/detect/logs/masking.ts';

const mask = (line: string) => maskLine(line).join(' ');

describe('maskLine', () => {
  it('masks numbers, hex, IPv4 with port, IPv6 and UUIDs', () => {
    expect(mask('took 42 ms')).toBe('took <*>');
    expect(mask('addr 0x7fff5fbff8a8 ok')).toBe('addr <*> ok');
    expect(mask('from 10.0.0.12:5432 done')).toBe('from <*> done');
    expect(mask('peer fe80::1ff:fe23:4567:890a up')).toBe('peer <*> up');
    expect(mask('req 123e4567-e89b-12d3-a456-426614174000 ok')).toBe('req <*> ok');
  });

  it('masks paths, URLs, e-mails and host names but keeps class names', () => {
    expect(mask('open /var/log/app.log failed')).toBe('open <*> failed');
    expect(mask('GET https://api.example.com/v1/x ok')).toBe('GET <*> ok');
    expect(mask('mail to ops@example.com sent')).toBe('mail to <*> sent');
    expect(mask('connect db.prod.example.com now')).toBe('connect <*> now');
    expect(mask('loaded org.apache.spark.SparkContext now')).toBe('loaded org.apache.spark.SparkContext now');
  });

  it('keeps keys and wrappers around masked values', () => {
    expect(mask('session opened (uid=0)')).toBe('session opened (uid=<*>)');
    expect(mask('req <memory:1024, vCores:1>')).toBe('req <memory:<*>, vCores:<*>>');
    expect(mask('connect [173.234.31.186] refused')).toBe('connect [<*>] refused');
    expect(mask('rhost=host.example.com user=root')).toBe('rhost=<*> user=root');
  });

  it('treats empty brackets as an empty variable', () => {
    expect(mask('connect [] failed')).toBe('connect [<*>] failed');
    expect(mask('connection from 10.0.0.1 () at 5')).toBe(mask('connection from 10.0.0.1 (10.0.0.2) at 5'));
  });

  it('masks dates, times and calendar words next to numbers, not elsewhere', () => {
    expect(mask('at Fri Jun 17 07:07:00 2005 ok')).toBe('at <*> ok');
    expect(mask('at 2015-07-29 17:41:44,747 ok')).toBe('at <*> ok');
    expect(mask('may I help')).toBe('may I help');
  });

  it('masks units after numbers and folds a run of variables into one', () => {
    expect(mask('size 21.3 KB free 1.2 GB')).toBe('size <*> free <*>');
    expect(mask('delete blk_1 blk_2 blk_3 now')).toBe('delete <*> now');
  });

  it('masks quoted names inside a message but keeps quoted enums and key values', () => {
    expect(mask("started service 'sparkDriver' on port 4040.")).toBe("started service '<*>' on port <*>.");
    expect(mask('state "RUNNING" reached')).toBe('state "RUNNING" reached');
    expect(mask('controller="deployment" synced')).toBe('controller="deployment" synced');
  });

  it('drops a parenthesised annotation made only of values and units', () => {
    expect(mask('1190 bytes (1.16 KB) sent')).toBe(mask('0 bytes sent'));
    expect(mask('took 5 ms (retry 2)')).toBe('took <*> (retry <*>)');
  });

  it('keeps plain words and SCREAMING_CASE constants', () => {
    expect(mask('Transitioned from NEW to RUNNING')).toBe('Transitioned from NEW to RUNNING');
  });

  it('survives empty, whitespace-only, huge and binary input', () => {
    expect(maskLine('')).toEqual([]);
    expect(maskLine(' \t ')).toEqual([]);
    const huge = maskLine(`${'word '.repeat(10_000)}`);
    expect(huge.length).toBeLessThanOrEqual(256);
    expect(huge.at(-1)).toBe(WILDCARD);
    expect(maskLine('x'.repeat(1_000_000))).toEqual([WILDCARD]);
    expect(maskLine('\u0000\uFFFD\uFFFD abc')).toHaveLength(2);
  });
});
