// `vigil sim`: runs the cluster simulator until SIGINT/SIGTERM. The kubeconfig is written once the API
// serves; the URL and the node roots are logged (pino JSON on stderr), stdout stays empty.
import { resolve } from 'node:path';
import type { Command } from 'commander';
import { createLogger } from '../../common/log.ts';
import { ScenarioError } from '../../sim/scenario/load.ts';
import { startSimulator } from '../../sim/simulator.ts';

interface SimFlags {
  scenario: string;
  kubeconfig: string;
  root?: string;
  port: string;
  speed: string;
  logLevel: string;
  logVolume: string;
}

export function register(program: Command): void {
  program
    .command('sim')
    .description(
      'run the simulated Kubernetes cluster (real API over HTTP, node log/metric trees, scripted faults)',
    )
    .option(
      '--scenario <name-or-file>',
      'built-in scenario name (sim/scenarios/<name>.yaml) or a YAML path',
      'default',
    )
    .requiredOption('--kubeconfig <path>', 'where to write the kubeconfig for clients')
    .option(
      '--root <dir>',
      'directory for the per-node trees (<root>/<node>/...); a temporary one if omitted',
    )
    .option('--port <port>', 'API port on 127.0.0.1 (0 = any free port)', '0')
    .option('--speed <factor>', 'simulated seconds per real second', '1')
    .option('--log-volume <factor>', "multiplies every workload's log rate (1 = as the scenario says)", '1')
    .option('--log-level <level>', 'pino level for stderr logs', 'info')
    .action(async (flags: SimFlags) => {
      const logger = createLogger('vigil-sim', flags.logLevel as 'info');
      const speed = Number(flags.speed);
      const port = Number(flags.port);
      if (!(speed > 0)) program.error(`--speed must be a positive number, got ${flags.speed}`);
      const logVolume = Number(flags.logVolume);
      if (!(logVolume >= 0))
        program.error(`--log-volume must be a non-negative number, got ${flags.logVolume}`);
      if (!Number.isInteger(port) || port < 0 || port > 65535)
        program.error(`--port must be 0..65535, got ${flags.port}`);
      let sim: Awaited<ReturnType<typeof startSimulator>>;
      try {
        const options: Parameters<typeof startSimulator>[0] = {
          scenario: flags.scenario,
          kubeconfigPath: resolve(flags.kubeconfig),
          port,
          speed,
          logger,
          logVolume,
        };
        if (flags.root) options.root = resolve(flags.root);
        sim = await startSimulator(options);
      } catch (err) {
        if (err instanceof ScenarioError) {
          process.stderr.write(`invalid scenario: ${err.message}\n`);
          process.exit(2);
        }
        throw err;
      }
      sim.events.on('fault', (f) => logger.info({ fault: f }, 'fault injected'));
      const shutdown = (signal: string): void => {
        logger.info({ signal }, 'sim stopping');
        sim.stop().then(
          () => process.exit(0),
          () => process.exit(1),
        );
      };
      process.once('SIGINT', () => shutdown('SIGINT'));
      process.once('SIGTERM', () => shutdown('SIGTERM'));
    });
}
