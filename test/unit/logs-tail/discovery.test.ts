import { describe, expect, it } from 'vitest';
import { containerStreamFromPath, hostStreamFromPath } from '../../../agent/sources/logs/discovery.ts';
import { globSegmentToRegExp } from '../../../agent/sources/logs/glob.ts';
import { parseTailerOptions } from '../../../agent/sources/logs/options.ts';
import { utf8CutEnd } from '../../../agent/sources/logs/truncate.ts';

describe('log discovery helpers', () => {
  it('reads namespace, pod, uid, container and restart count from a kubelet log path', () => {
    const s = containerStreamFromPath('/host/var/log/pods/shop_cart-7d9f_0b1c-22/server/3.log');
    expect(s).toMatchObject({
      namespace: 'shop',
      pod: 'cart-7d9f',
      podUid: '0b1c-22',
      container: 'server',
      restartCount: 3,
      id: 'shop/cart-7d9f/server',
    });
  });

  it('keeps a rotated kubelet file in its container stream', () => {
    expect(containerStreamFromPath('/var/log/pods/a_b_c/d/0.log.20240101-000000').id).toBe('a/b/d');
  });

  it('names a rotated host log after the original', () => {
    expect(hostStreamFromPath('/var/log/auth.log.1').id).toBe('host:auth.log');
    expect(hostStreamFromPath('/var/log/syslog-20240101').id).toBe('host:syslog');
  });

  it('matches glob segments with * and ? only', () => {
    expect(globSegmentToRegExp('*.log').test('0.log')).toBe(true);
    expect(globSegmentToRegExp('*.log').test('0.log.1')).toBe(false);
    expect(globSegmentToRegExp('kube-?').test('kube-a')).toBe(true);
    expect(globSegmentToRegExp('a.b').test('axb')).toBe(false);
  });

  it('never cuts inside a multi-byte character', () => {
    const buf = Buffer.from('ab\u00e9\u20ac');
    expect(utf8CutEnd(buf, 0, buf.length, 3)).toBe(2);
    expect(utf8CutEnd(buf, 0, buf.length, 5)).toBe(4);
    expect(utf8CutEnd(buf, 0, buf.length, 100)).toBe(buf.length);
  });

  it('rejects invalid options with the option path in the message', () => {
    expect(() => parseTailerOptions({ hostRoot: '/', maxOpenFiles: 1 })).toThrow(/options\.maxOpenFiles/);
    expect(() => parseTailerOptions({ hostRoot: '' })).toThrow(/options\.hostRoot/);
  });
});
