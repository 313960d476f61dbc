// `vigil scenario run <name-or-file> --json`: a scenario end to end, reported as one JSON object.
import type { Command } from 'commander';

export function register(program: Command): void {
  const scenario = program.command('scenario').description('Run and evaluate scripted fault scenarios');
  scenario
    .command('run <name-or-file>')
    .description(
      'Run a scenario end to end (simulator, one agent per node, aggregator) and report the outcome',
    )
    .option('--json', 'print one JSON object (the evaluation contract)')
    .option('--speed <factor>', 'simulated seconds per real second', '2')
    .option('--policy <file>', 'remediation policy (default: policies/default.yaml)')
    .option('--approve-all', 'approve every action that waits for an approval')
    .option('--log-level <level>', 'log level of the components, on stderr', 'silent')
    .action(
      async (
        name: string,
        opts: { json?: boolean; speed: string; policy?: string; approveAll?: boolean; logLevel: string },
      ) => {
        const { runScenario } = await import('../scenario/run-scenario.ts');
        const report = await runScenario({
          scenario: name,
          speed: Number(opts.speed) || 2,
          ...(opts.policy ? { policy: opts.policy } : {}),
          approveAll: Boolean(opts.approveAll),
          logLevel: opts.logLevel,
        });
        if (opts.json) {
          const { actions: _actions, ...contract } = report;
          process.stdout.write(`${JSON.stringify({ ...contract, actions: report.actions })}\n`);
        } else {
          const top = report.rootCause.ranked[0];
          process.stdout.write(
            `${report.scenario}: ${report.signals} signals → ${report.incidents} incident(s)\n` +
              `expected root cause: ${report.rootCause.expected.kind} ${report.rootCause.expected.object}\n` +
              `top candidate:       ${top ? `${top.kind} ${top.object}` : 'none'}\n` +
              `detect ${report.detectSeconds ?? '—'} s, remediate ${report.remediateSeconds ?? '—'} s, resolve ${report.resolveSeconds ?? '—'} s\n`,
          );
        }
        process.exit(0);
      },
    );
}
