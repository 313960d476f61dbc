import type { Command } from 'commander';

type Loader = () => Promise<{ register(program: Command): void }>;

// One line per command: its name and its file, which exports `register(program)`. Files load lazily, so a
// command pays only for its own imports (the Kubernetes client alone costs about a second of CPU), which
// matters for the measured one-shot commands such as `templates` and `detect-series`.
const commands: Record<string, Loader> = {
  agent: () => import('./agent.ts'),
  aggregator: () => import('./aggregator.ts'),
  demo: () => import('./demo.ts'),
  nodes: () => import('./nodes.ts'),
  'detect-log': () => import('./detect-log.ts'),
  'detect-series': () => import('./detect-series.ts'),
  templates: () => import('./templates.ts'),
  sim: () => import('./sim.ts'),
  scenario: () => import('./scenario.ts'),
  incidents: () => import('./incidents.ts'),
  watch: () => import('./watch.ts'),
  approve: () => import('./approve.ts'),
  'scan-report': () => import('./scan-report.ts'),
};

/** Registers the named command only, or every command (for help and unknown names). */
export async function registerCommands(program: Command, wanted?: string): Promise<void> {
  const loaders = wanted !== undefined && commands[wanted] ? [commands[wanted]] : Object.values(commands);
  for (const module of await Promise.all(loaders.map((load) => load()))) module.register(program);
}
