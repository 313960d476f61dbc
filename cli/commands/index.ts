import type { Command } from 'commander';
import { register as detectLog } from './detect-log.ts';
import { register as detectSeries } from './detect-series.ts';

// One line per command; each command file exports `register(program)`.
const commands: Array<(program: Command) => void> = [detectLog, detectSeries];

export function registerCommands(program: Command): void {
  for (const register of commands) register(program);
}
