#!/usr/bin/env node
// Vigil's single entry point: `npm run vigil -- <command>`. Each command lives in its own file under
// cli/commands/ and registers itself on the commander program; only the command being run is loaded.
import { Command } from 'commander';
import { VERSION } from '../common/version.ts';
import { registerCommands } from './commands/index.ts';

const program = new Command('vigil')
  .description('Vigil: AIOps for Kubernetes (agent, aggregator, simulator and evaluation tools)')
  .version(VERSION)
  .showHelpAfterError();

await registerCommands(program, process.argv[2]);

await program.parseAsync(process.argv);
