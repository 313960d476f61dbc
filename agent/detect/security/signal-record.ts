// The `detect-log` output record: one flat JSON object per signal (the CLI's stdout contract).

import type { Signal } from '../../../common/signal.ts';

export interface DetectLogRecord {
  rule: string;
  severity: string;
  /** ISO 8601. */
  time: string;
  /** Source IP, user or object. */
  subject: string;
  count: number;
  technique: string;
  explanation: string;
}

export function toDetectLogRecord(signal: Signal): DetectLogRecord {
  const s = signal.subject;
  return {
    rule: signal.evidence?.attributes?.['rule'] ?? signal.kind,
    severity: signal.severity,
    time: new Date(signal.timeMs).toISOString(),
    subject: s.name ?? s.pod ?? s.container ?? s.node ?? '',
    count: signal.evidence?.values?.['count'] ?? 1,
    technique: signal.technique ?? '',
    explanation: signal.explanation,
  };
}
