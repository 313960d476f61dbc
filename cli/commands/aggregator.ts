import type { Command } from 'commander';
import { aggregatorSettings } from '../../aggregator/settings.ts';
import { addOptions, loadConfig } from '../../common/config/settings.ts';
import { createLogger } from '../../common/log.ts';
import { exitOnConfigError, runService } from '../run-service.ts';

export function register(program: Command): void {
  addOptions(
    program.command('aggregator').description('Run the aggregator (gRPC agent gateway and integration API)'),
    aggregatorSettings,
  ).action(async (flags: Record<string, unknown>) => {
    let config: ReturnType<typeof loadConfig<typeof aggregatorSettings>>;
    try {
      config = loadConfig(aggregatorSettings, { flags, env: process.env, section: 'aggregator' });
    } catch (error) {
      exitOnConfigError(error);
    }
    // Heavy modules load only when the command runs, so `--help` and the other commands start fast.
    const { startAggregator } = await import('../../aggregator/aggregator.ts');
    const logger = createLogger('vigil-aggregator', config.logLevel);
    await runService(logger, () => startAggregator(config, logger));
  });
}
