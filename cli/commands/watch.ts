import { create } from '@bufbuild/protobuf';
import type { Command } from 'commander';
import { type IncidentEvent, WatchIncidentsRequestSchema } from '../../proto/gen/vigil/v1/incidents_pb.js';
import {
  actionJson,
  type ConnectionOptions,
  incidentClient,
  incidentJson,
  severityName,
  withConnectionOptions,
} from './incidents.ts';

/** One human line per incident or action change. */
export function eventLine(e: IncidentEvent): string {
  const time = new Date().toISOString().slice(11, 19);
  if (e.change === 'action' && e.action) {
    const a = e.action;
    return `${time} action   ${a.id} ${a.type} ${a.target} [${a.mode}] ${a.status}${a.verification ? ` (${a.verification})` : ''}: ${a.message}`;
  }
  const i = e.incident;
  if (!i) return `${time} ${e.change}`;
  const top = i.rootCauses[0];
  return `${time} ${e.change.padEnd(8)} ${i.id} ${i.status} ${severityName(i.severity)} ${i.signalCount} signals on ${i.nodes.length} node(s) — ${top ? `${top.kind} ${top.object}` : i.title}`;
}

export function register(program: Command): void {
  withConnectionOptions(
    program
      .command('watch')
      .description('Stream incident changes (opened, updated, resolved) and remediation actions until Ctrl-C')
      .option('--json', 'print one JSON object per line'),
  ).action((opts: ConnectionOptions & { json?: boolean }) => {
    const client = incidentClient(opts);
    const stream = client.watchIncidents(create(WatchIncidentsRequestSchema, {}));
    stream.on('data', (e: IncidentEvent) => {
      if (opts.json) {
        const body = e.action
          ? { change: e.change, action: actionJson(e.action) }
          : { change: e.change, incident: e.incident ? incidentJson(e.incident) : undefined };
        process.stdout.write(`${JSON.stringify(body)}\n`);
      } else process.stdout.write(`${eventLine(e)}\n`);
    });
    stream.on('error', (error: Error & { code?: number }) => {
      if (error.code !== 1) {
        process.stderr.write(`vigil watch: ${error.message}\n`);
        process.exitCode = 1;
      }
      client.close();
    });
    stream.on('end', () => client.close());
    process.once('SIGINT', () => {
      stream.cancel();
      client.close();
    });
  });
}
