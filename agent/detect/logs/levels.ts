// Level words in log text: how bad a line or a template sounds. One regex per line (not per token); the
// words are the usual level names and failure words across languages and frameworks.
import type { Severity } from '../../../common/signal.ts';

export type LogLevel = 'info' | 'warning' | 'error' | 'critical';

const LEVEL_WORDS =
  /\b(fatal|panic|panicked|emerg|emergency|crit|critical|severe|error|errors|err|exception|traceback|fail|fails|failed|failure|refused|denied|warn|warning|timeout|timed out)\b/gi;

const RANK: Record<LogLevel, number> = { info: 0, warning: 1, error: 2, critical: 3 };

function levelOfWord(word: string): LogLevel {
  switch (word.toLowerCase()) {
    case 'fatal':
    case 'panic':
    case 'panicked':
    case 'emerg':
    case 'emergency':
      return 'critical';
    case 'warn':
    case 'warning':
    case 'timeout':
    case 'timed out':
      return 'warning';
    default:
      return 'error';
  }
}

/** The worst level word in `text` (`info` when there is none). */
export function levelOf(text: string): LogLevel {
  let level: LogLevel = 'info';
  for (const m of text.matchAll(LEVEL_WORDS)) {
    const l = levelOfWord(m[0]);
    if (RANK[l] > RANK[level]) level = l;
    if (level === 'critical') break;
  }
  return level;
}

export function isErrorLevel(level: LogLevel): boolean {
  return RANK[level] >= RANK.error;
}

export function levelRank(level: LogLevel): number {
  return RANK[level];
}

export function severityOf(level: LogLevel): Severity {
  return level;
}
