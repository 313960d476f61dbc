// `npm run demo`: the whole system on this machine (see cli/demo/live-demo.ts).
import type { Command } from 'commander';

export function register(program: Command): void {
  program
    .command('demo')
    .description(
      'Run a simulated cluster with a fault, an aggregator and one agent per node, and show it live',
    )
    .option('--scenario <name-or-file>', 'scenario to run (see sim/scenarios)', 'default')
    .option('--speed <factor>', 'simulated seconds per real second', '1')
    .option('--dir <path>', 'where state and logs go', '.vigil/demo')
    .option('--duration <seconds>', 'stop by itself after this long (default: until Ctrl-C)')
    .action(async (opts: { scenario: string; speed: string; dir: string; duration?: string }) => {
      const { runDemo } = await import('../demo/live-demo.ts');
      await runDemo(opts);
    });
}
