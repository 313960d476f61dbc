// A sink that keeps every sample and a logger that keeps every line, for collector tests.
import { pino } from 'pino';
import type { MetricSink, SampleMeta } from '../../../agent/sources/metrics/metric-sink.ts';

export interface Recorded {
  name: string;
  value: number;
  meta: SampleMeta;
}

export class RecordingSink implements MetricSink {
  samples: Recorded[] = [];

  add(name: string, value: number, meta: SampleMeta = {}): void {
    this.samples.push({ name, value, meta });
  }

  named(name: string): Recorded[] {
    return this.samples.filter((s) => s.name === name);
  }

  one(name: string, match: (s: Recorded) => boolean = () => true): Recorded {
    const found = this.named(name).filter(match);
    if (found.length !== 1) throw new Error(`expected one ${name}, found ${found.length}`);
    return found[0]!;
  }

  names(): Set<string> {
    return new Set(this.samples.map((s) => s.name));
  }

  clear(): void {
    this.samples = [];
  }
}

export interface LogLine {
  level: number;
  msg: string;
  source?: string;
  [key: string]: unknown;
}

export function recordingLogger(): { logger: pino.Logger; lines: LogLine[]; warnings: () => LogLine[] } {
  const lines: LogLine[] = [];
  const logger = pino({ level: 'debug' }, { write: (s: string) => lines.push(JSON.parse(s) as LogLine) });
  return { logger, lines, warnings: () => lines.filter((l) => l.level === 40) };
}
