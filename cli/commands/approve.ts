import { create } from '@bufbuild/protobuf';
import type { Command } from 'commander';
import {
  ApproveActionRequestSchema,
  RejectActionRequestSchema,
} from '../../proto/gen/vigil/v1/incidents_pb.js';
import { actionJson, type ConnectionOptions, incidentClient, withConnectionOptions } from './incidents.ts';

export function register(program: Command): void {
  withConnectionOptions(
    program
      .command('approve <action-id>')
      .description('Approve a remediation action waiting for approval (or reject it with --reject)')
      .option('--reject', 'reject the action instead')
      .option('--reason <text>', 'why (recorded in the audit trail)', '')
      .option('--by <name>', 'who decides', process.env['USER'] ?? 'cli')
      .option('--json', 'print the action as JSON'),
  ).action(
    async (
      id: string,
      opts: ConnectionOptions & { reject?: boolean; reason: string; by: string; json?: boolean },
    ) => {
      const client = incidentClient(opts);
      try {
        const deadline = { deadline: Date.now() + 120_000 };
        const action = opts.reject
          ? await client.rejectAction(
              create(RejectActionRequestSchema, { id, by: opts.by, reason: opts.reason }),
              deadline,
            )
          : await client.approveAction(create(ApproveActionRequestSchema, { id, by: opts.by }), deadline);
        if (opts.json) process.stdout.write(`${JSON.stringify(actionJson(action), null, 2)}\n`);
        else
          process.stdout.write(
            `${action.id} ${action.type} ${action.target}: ${action.status} — ${action.message}\n`,
          );
        if (!opts.reject && action.status !== 'succeeded') process.exitCode = 1;
      } catch (error) {
        process.stderr.write(`vigil approve: ${(error as Error).message}\n`);
        process.exitCode = 1;
      } finally {
        client.close();
      }
    },
  );
}
