import type { Command } from 'commander';
import { agentSettings } from '../../agent/settings.ts';
import { addOptions, loadConfig } from '../../common/config/settings.ts';
import { createLogger } from '../../common/log.ts';
import { exitOnConfigError, runService } from '../run-service.ts';

export function register(program: Command): void {
  addOptions(
    program.command('agent').description('Run the per-node agent (the DaemonSet process)'),
    agentSettings,
  ).action(async (flags: Record<string, unknown>) => {
    let config: ReturnType<typeof loadConfig<typeof agentSettings>>;
    try {
      config = loadConfig(agentSettings, { flags, env: process.env, section: 'agent' });
    } catch (error) {
      exitOnConfigError(error);
    }
    // Heavy modules load only when the command runs, so `--help` and the other commands start fast.
    const { startAgent } = await import('../../agent/agent.ts');
    const logger = createLogger('vigil-agent', config.logLevel).child({ node: config.node });
    await runService(logger, () => startAgent(config, logger));
  });
}
