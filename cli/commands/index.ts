import type { Command } from 'commander';
import { register as agent } from './agent.ts';
import { register as aggregator } from './aggregator.ts';
import { register as approve } from './approve.ts';
import { register as demo } from './demo.ts';
import { register as detectLog } from './detect-log.ts';
import { register as detectSeries } from './detect-series.ts';
import { register as incidents } from './incidents.ts';
import { register as nodes } from './nodes.ts';
import { register as sim } from './sim.ts';
import { register as templates } from './templates.ts';
import { register as watch } from './watch.ts';

// One line per command; each command file exports `register(program)`.
const commands: Array<(program: Command) => void> = [
  agent,
  aggregator,
  demo,
  nodes,
  detectLog,
  detectSeries,
  templates,
  sim,
  incidents,
  watch,
  approve,
];

export function registerCommands(program: Command): void {
  for (const register of commands) register(program);
}
