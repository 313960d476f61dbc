import { describe, expect, it } from 'vitest';
import { newCounters } from '../../../agent/sources/logs/counters.ts';
import { containerStreamFromPath } from '../../../agent/sources/logs/discovery.ts';
import { DockerLineParser } from '../../../agent/sources/logs/docker.ts';
import type { ParseContext } from '../../../agent/sources/logs/line-parser.ts';
import type { LogRecord } from '../../../agent/sources/logs/types.ts';

const stream = containerStreamFromPath('/r/var/log/pods/ns_pod_uid/app/0.log');

function setup(maxLineBytes = 1024) {
  const ctx: ParseContext = { maxLineBytes, counters: newCounters(), nowMs: 7 };
  const parser = new DockerLineParser(stream, ctx);
  const out: LogRecord[] = [];
  let offset = 0;
  const feed = (line: string) => {
    const buf = Buffer.from(line);
    parser.line(buf, 0, buf.length, offset, 0, out);
    offset += buf.length + 1;
  };
  const obj = (log: string, s = 'stdout') =>
    JSON.stringify({ log, stream: s, time: '2024-01-01T00:00:00.5Z' });
  return { ctx, parser, out, feed, obj };
}

describe('docker json-file parser', () => {
  it('strips the trailing newline and keeps stream and time', () => {
    const { out, feed, obj } = setup();
    feed(obj('hello "quoted" \u00e9\n', 'stderr'));
    expect(out[0]).toMatchObject({
      text: 'hello "quoted" \u00e9',
      streamName: 'stderr',
      timeMs: Date.UTC(2024, 0, 1, 0, 0, 0, 500),
    });
  });

  it('joins 16 KiB splits (pieces without a trailing newline)', () => {
    const { out, feed, obj, parser } = setup(100_000);
    feed(obj('a'.repeat(16384)));
    feed(obj('b'.repeat(16384)));
    expect(parser.pendingOffset()).toBe(0);
    feed(obj('c\n'));
    expect(out).toHaveLength(1);
    expect(out[0]?.text).toBe(`${'a'.repeat(16384)}${'b'.repeat(16384)}c`);
  });

  it('cuts joined splits at the maximum with a marker', () => {
    const { out, feed, obj } = setup(1000);
    feed(obj('a'.repeat(800)));
    feed(obj('b'.repeat(800)));
    feed(obj('\n'));
    expect(out[0]?.truncated).toBe(true);
    expect(out[0]?.text.endsWith('…[truncated 600 bytes]')).toBe(true);
  });

  it('passes a line that is not docker JSON through and counts it', () => {
    const { out, feed, ctx } = setup();
    feed('{"log": 5}');
    feed('plain text');
    expect(out.map((r) => r.text)).toEqual(['{"log": 5}', 'plain text']);
    expect(ctx.counters.parseErrors).toBe(2);
  });
});
