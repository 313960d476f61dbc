import type { LineParser, ParseContext } from './line-parser.ts';
import { rawRecord } from './raw-record.ts';
import type { LogRecord, StreamKey } from './types.ts';

/** Host log files (syslog, auth.log…): one line, one record, stamped with the read time. */
export class RawLineParser implements LineParser {
  private readonly stream: StreamKey;
  private readonly ctx: ParseContext;

  constructor(stream: StreamKey, ctx: ParseContext) {
    this.stream = stream;
    this.ctx = ctx;
  }

  line(buf: Buffer, start: number, end: number, _offset: number, overflow: number, out: LogRecord[]): void {
    out.push(rawRecord(this.ctx, this.stream, 'host', buf, start, end, overflow));
  }

  pendingOffset(): number {
    return -1;
  }

  flush(): void {}

  reset(): void {}
}
