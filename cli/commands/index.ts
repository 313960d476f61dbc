import type { Command } from 'commander';
import { register as detectLog } from './detect-log.ts';

// One line per command; each command file exports `register(program)`.
const commands: Array<(program: Command) => void> = [detectLog];

export function registerCommands(program: Command): void {
  for (const register of commands) register(program);
}
