// Level words in log text: how bad a line or a template sounds. One regex per line (not per token); the
// words are the usual level names and failure words across languages and frameworks.
import type { Severity } from '../../../common/signal.ts';

export type LogLevel = 'info' | 'warning' | 'error' | 'critical';

const LEVEL_WORDS =
  /\b(fatal|panic|panicked|emerg|emergency|crit|critical|severe|error|errors|err|exception|traceback|fail|fails|failed|failure|refused|denied|warn|warning|timeout|timed out)\b/gi;

const RANK: Record<LogLevel, number> = { info: 0, warning: 1, error: 2, critical: 3 };

// The first two letters (lower case) of every level word above: a word in which no word boundary is followed by
// one of these pairs holds no level word, which most words show with a couple of table reads (no regex, no
// lookup by the word). Built from the regex's source so that the two cannot drift apart.
const LEVEL_PREFIX = new Uint8Array(32 * 32);
for (const w of LEVEL_WORDS.source
  .slice(LEVEL_WORDS.source.indexOf('(') + 1, LEVEL_WORDS.source.lastIndexOf(')'))
  .split('|'))
  LEVEL_PREFIX[((w.charCodeAt(0) & 31) << 5) | (w.charCodeAt(1) & 31)] = 1;

function isWordChar(c: number): boolean {
  return (c >= 48 && c <= 57) || (c >= 65 && c <= 90) || (c >= 97 && c <= 122) || c === 95;
}

/** False only when `word` cannot contain a level word (exact: true does not promise one, false rules it out). */
export function mayHoldLevelWord(word: string): boolean {
  const last = word.length - 1;
  for (let i = 0; i < last; i++) {
    const c = word.charCodeAt(i);
    if (i > 0 && isWordChar(word.charCodeAt(i - 1))) continue;
    // Letters only: `& 31` folds case; a non-letter here never starts a level word.
    const d = word.charCodeAt(i + 1);
    if (((c >= 65 && c <= 90) || (c >= 97 && c <= 122)) && LEVEL_PREFIX[((c & 31) << 5) | (d & 31)] === 1)
      return true;
  }
  return false;
}

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
