#!/usr/bin/env node
// Vigil's single entry point: `npm run vigil -- <command>`. Each command lives in its own file under
// cli/commands/ and registers itself on the commander program; this file only lists them.
import { Command } from 'commander';
import { VERSION } from '../common/version.ts';
import { registerCommands } from './commands/index.ts';

const program = new Command('vigil')
  .description('Vigil: AIOps for Kubernetes (agent, aggregator, simulator and evaluation tools)')
  .version(VERSION)
  .showHelpAfterError();

registerCommands(program);

await program.parseAsync(process.argv);
