import { describe, expect, it } from 'vitest';
import { newCounters } from '../../../agent/sources/logs/counters.ts';
import { CriLineParser } from '../../../agent/sources/logs/cri.ts';
import { containerStreamFromPath } from '../../../agent/sources/logs/discovery.ts';
import type { ParseContext } from '../../../agent/sources/logs/line-parser.ts';
import type { LogRecord } from '../../../agent/sources/logs/types.ts';

const stream = containerStreamFromPath('/r/var/log/pods/ns_pod_uid/app/0.log');

function setup(maxLineBytes = 1024) {
  const ctx: ParseContext = { maxLineBytes, counters: newCounters(), nowMs: 42 };
  const parser = new CriLineParser(stream, ctx);
  const out: LogRecord[] = [];
  let offset = 0;
  const feed = (line: string | Buffer) => {
    const buf = typeof line === 'string' ? Buffer.from(line) : line;
    parser.line(buf, 0, buf.length, offset, 0, out);
    offset += buf.length + 1;
  };
  return { ctx, parser, out, feed };
}

describe('CRI line parser', () => {
  it('parses timestamp, stream and message of a full line', () => {
    const { out, feed } = setup();
    feed('2024-01-01T00:00:00.123456789Z stdout F hello world');
    expect(out).toHaveLength(1);
    expect(out[0]).toMatchObject({
      streamName: 'stdout',
      text: 'hello world',
      timeMs: Date.UTC(2024, 0, 1, 0, 0, 0, 123),
      truncated: false,
    });
    expect(out[0]?.stream.id).toBe('ns/pod/app');
  });

  it('applies a numeric zone offset', () => {
    const { out, feed } = setup();
    feed('2024-01-01T02:00:00+02:00 stderr F x');
    expect(out[0]?.timeMs).toBe(Date.UTC(2024, 0, 1, 0, 0, 0));
    expect(out[0]?.streamName).toBe('stderr');
  });

  it('keeps an empty message as an empty record', () => {
    const { out, feed } = setup();
    feed('2024-01-01T00:00:00Z stdout F');
    feed('2024-01-01T00:00:00Z stdout F ');
    expect(out.map((r) => r.text)).toEqual(['', '']);
  });

  it('reassembles P pieces up to the F piece and reports where the open record starts', () => {
    const { out, feed, parser } = setup();
    feed('2024-01-01T00:00:00Z stdout P abc');
    expect(parser.pendingOffset()).toBe(0);
    feed('2024-01-01T00:00:00Z stdout P def');
    expect(out).toHaveLength(0);
    feed('2024-01-01T00:00:01Z stdout F ghi');
    expect(out.map((r) => r.text)).toEqual(['abcdefghi']);
    expect(parser.pendingOffset()).toBe(-1);
  });

  it('holds a record of the other stream back until the earlier open record completes', () => {
    const { out, feed, parser } = setup();
    feed('2024-01-01T00:00:00Z stdout P long-');
    feed('2024-01-01T00:00:00Z stderr F err-line');
    expect(out).toHaveLength(0);
    expect(parser.pendingOffset()).toBe(0);
    feed('2024-01-01T00:00:00Z stdout F end');
    expect(out.map((r) => [r.streamName, r.text])).toEqual([
      ['stdout', 'long-end'],
      ['stderr', 'err-line'],
    ]);
  });

  it('cuts a reassembled record at the maximum with a visible marker and counts it', () => {
    const { out, feed, ctx } = setup(64);
    for (let i = 0; i < 10; i++) feed(`2024-01-01T00:00:00Z stdout P ${'x'.repeat(20)}`);
    feed('2024-01-01T00:00:00Z stdout F tail');
    expect(out).toHaveLength(1);
    expect(out[0]?.truncated).toBe(true);
    expect(out[0]?.text).toBe(`${'x'.repeat(64)}…[truncated ${200 + 4 - 64} bytes]`);
    expect(ctx.counters.truncations).toBe(1);
  });

  it('passes malformed lines through as raw text and counts a parse error', () => {
    const { out, feed, ctx } = setup();
    feed('not a cri line');
    feed('2024-13-01T00:00:00Z stdout F bad month is still shaped right');
    feed('2024-01-01T00:00:00Z stdlog F x');
    feed('2024-01-01T00:00:00Z stdout X x');
    expect(out.map((r) => r.text)).toEqual([
      'not a cri line',
      '2024-13-01T00:00:00Z stdout F bad month is still shaped right',
      '2024-01-01T00:00:00Z stdlog F x',
      '2024-01-01T00:00:00Z stdout X x',
    ]);
    expect(out[0]?.timeMs).toBe(42);
    expect(ctx.counters.parseErrors).toBe(4);
  });

  it('decodes invalid UTF-8 with replacement characters instead of failing', () => {
    const { out, feed } = setup();
    feed(
      Buffer.concat([
        Buffer.from('2024-01-01T00:00:00Z stdout F a'),
        Buffer.from([0xff, 0xfe, 0xc3]),
        Buffer.from('b'),
      ]),
    );
    expect(out[0]?.text).toBe('a\uFFFD\uFFFD\uFFFDb');
  });

  it('emits an open record when flushed', () => {
    const { out, feed, parser } = setup();
    feed('2024-01-01T00:00:00Z stdout P never finished');
    parser.flush(out);
    expect(out.map((r) => r.text)).toEqual(['never finished']);
    expect(parser.pendingOffset()).toBe(-1);
  });
});
