import { type LevelWithSilent, type Logger, pino } from 'pino';

export type { Logger };

/** Structured JSON logs to stderr (stdout stays free for command output such as the CLI contracts). */
export function createLogger(name: string, level: LevelWithSilent = 'info'): Logger {
  return pino({ name, level, base: { name } }, pino.destination({ fd: 2, sync: false }));
}
