import { create } from '@bufbuild/protobuf';
import type { Command } from 'commander';
import { createClient, type ServiceClient } from '../../common/grpc/adapter.ts';
import { channelCredentials } from '../../common/grpc/credentials.ts';
import {
  AcknowledgeIncidentRequestSchema,
  type Action,
  GetIncidentRequestSchema,
  type Incident,
  IncidentService,
  ListActionsRequestSchema,
  ListAuditRequestSchema,
  ListIncidentsRequestSchema,
  ResolveIncidentRequestSchema,
} from '../../proto/gen/vigil/v1/incidents_pb.js';
import { Severity } from '../../proto/gen/vigil/v1/signal_pb.js';
import { formatAge, table } from '../format.ts';

export interface ConnectionOptions {
  aggregator: string;
  tlsCa?: string;
  tlsCert?: string;
  tlsKey?: string;
}

/** The `--aggregator` and TLS options every incident command takes. */
export function withConnectionOptions(cmd: Command): Command {
  return cmd
    .option(
      '--aggregator <host:port>',
      'aggregator gRPC address [env VIGIL_AGGREGATOR]',
      process.env['VIGIL_AGGREGATOR'] ?? 'localhost:7400',
    )
    .option('--tls-ca <file>', 'CA file [env VIGIL_TLS_CA]', process.env['VIGIL_TLS_CA'])
    .option('--tls-cert <file>', 'client certificate [env VIGIL_TLS_CERT]', process.env['VIGIL_TLS_CERT'])
    .option('--tls-key <file>', 'client key [env VIGIL_TLS_KEY]', process.env['VIGIL_TLS_KEY']);
}

export function incidentClient(opts: ConnectionOptions): ServiceClient<typeof IncidentService> {
  return createClient(IncidentService, opts.aggregator, channelCredentials(opts));
}

export function severityName(s: Severity): string {
  return Severity[s]?.toLowerCase() ?? 'unspecified';
}

/** Plain JSON for an incident (bigints as numbers, enums as names). */
export function incidentJson(i: Incident): Record<string, unknown> {
  return {
    id: i.id,
    status: i.status,
    title: i.title,
    severity: severityName(i.severity),
    openedMs: Number(i.openedMs),
    updatedMs: Number(i.updatedMs),
    firstSignalMs: Number(i.firstSignalMs),
    lastSignalMs: Number(i.lastSignalMs),
    resolvedMs: Number(i.resolvedMs) || undefined,
    resolvedBy: i.resolvedBy || undefined,
    acknowledgedBy: i.acknowledgedBy || undefined,
    signalCount: Number(i.signalCount),
    groupCount: i.groupCount,
    nodes: i.nodes,
    namespaces: i.namespaces,
    rootCauses: i.rootCauses.map((c) => ({
      kind: c.kind,
      object: c.object,
      score: c.score,
      reasons: c.reasons,
    })),
    groups: i.groups.map((g) => ({
      kind: g.kind,
      subject: g.subject,
      count: g.count,
      severity: severityName(g.severity),
      explanation: g.explanation,
      calls: g.calls,
    })),
    timeline: i.timeline.map((t) => ({ timeMs: Number(t.timeMs), type: t.type, text: t.text })),
    actionIds: i.actionIds,
  };
}

export function actionJson(a: Action): Record<string, unknown> {
  return {
    id: a.id,
    incidentId: a.incidentId,
    rule: a.rule,
    type: a.type,
    target: a.target,
    mode: a.mode,
    status: a.status,
    step: a.step,
    message: a.message,
    verification: a.verification || undefined,
    deadlineMs: Number(a.deadlineMs) || undefined,
    decidedBy: a.decidedBy || undefined,
  };
}

function incidentRow(i: Incident, now: number): string[] {
  const top = i.rootCauses[0];
  return [
    i.id,
    i.status,
    severityName(i.severity),
    String(i.signalCount),
    String(i.nodes.length),
    top ? `${top.kind} ${top.object}` : i.title,
    formatAge(Number(i.openedMs), now),
  ];
}

function actionRow(a: Action): string[] {
  return [a.id, a.type, a.target, a.mode, a.status, a.message.slice(0, 80)];
}

function details(i: Incident, actions: Action[], now: number): string {
  const out: string[] = [];
  out.push(
    `${i.id}  ${i.status}  ${severityName(i.severity)}  opened ${formatAge(Number(i.openedMs), now)} ago`,
  );
  out.push(`${i.title}`);
  out.push(
    `${i.signalCount} signals in ${i.groupCount} groups on ${i.nodes.length} node(s): ${i.nodes.slice(0, 12).join(', ')}`,
  );
  out.push('', 'Root cause candidates:');
  for (const [n, c] of i.rootCauses.entries()) {
    out.push(`  ${n + 1}. ${c.kind} ${c.object}  (score ${c.score.toFixed(2)})`);
    for (const r of c.reasons) out.push(`       - ${r}`);
  }
  out.push('', 'Signals:');
  const groups = [...i.groups].sort((a, b) => b.count - a.count).slice(0, 15);
  for (const g of groups) {
    const who = g.subject?.pod || g.subject?.name || g.subject?.node || '';
    out.push(`  ${String(g.count).padStart(5)} × ${g.kind} ${who}: ${g.explanation.slice(0, 100)}`);
  }
  if (i.groups.length > groups.length) out.push(`  … ${i.groups.length - groups.length} more groups`);
  if (actions.length > 0) {
    out.push('', 'Actions:');
    out.push(table(['ACTION', 'TYPE', 'TARGET', 'MODE', 'STATUS', 'MESSAGE'], actions.map(actionRow)));
  }
  out.push('', 'Timeline:');
  for (const t of i.timeline.slice(-20))
    out.push(`  ${new Date(Number(t.timeMs)).toISOString()}  ${t.type.padEnd(10)} ${t.text.slice(0, 140)}`);
  return out.join('\n');
}

interface IncidentsOptions extends ConnectionOptions {
  all?: boolean;
  json?: boolean;
  ack?: string;
  resolve?: string;
  actions?: boolean;
  audit?: boolean;
  by: string;
}

export function register(program: Command): void {
  withConnectionOptions(
    program
      .command('incidents [id]')
      .description(
        'List incidents, show one with its root causes, signals, actions and timeline, or change its state',
      )
      .option('--all', 'include resolved incidents')
      .option('--json', 'print JSON instead of a table')
      .option('--ack <id>', 'acknowledge an incident')
      .option('--resolve <id>', 'resolve an incident by hand')
      .option('--actions', 'list remediation actions (of the incident when an id is given)')
      .option('--audit', 'print the remediation audit trail (of the incident when an id is given)')
      .option('--by <name>', 'who acknowledges or resolves', process.env['USER'] ?? 'cli'),
  ).action(async (id: string | undefined, opts: IncidentsOptions) => {
    const client = incidentClient(opts);
    const deadline = () => ({ deadline: Date.now() + 10_000 });
    const print = (value: unknown) => process.stdout.write(`${JSON.stringify(value, null, 2)}\n`);
    const now = Date.now();
    try {
      if (opts.ack || opts.resolve) {
        const inc = opts.ack
          ? await client.acknowledgeIncident(
              create(AcknowledgeIncidentRequestSchema, { id: opts.ack, by: opts.by }),
              deadline(),
            )
          : await client.resolveIncident(
              create(ResolveIncidentRequestSchema, { id: opts.resolve ?? '', by: opts.by }),
              deadline(),
            );
        if (opts.json) print(incidentJson(inc));
        else process.stdout.write(`${inc.id} is ${inc.status}\n`);
      } else if (opts.audit) {
        const res = await client.listAudit(
          create(ListAuditRequestSchema, { incidentId: id ?? '' }),
          deadline(),
        );
        const rows = res.entries.map((e) => ({
          seq: Number(e.seq),
          timeMs: Number(e.timeMs),
          incidentId: e.incidentId,
          actionId: e.actionId,
          type: e.type,
          target: e.target,
          decision: e.decision,
          guardrail: e.guardrail || undefined,
          reason: e.reason,
          actor: e.actor,
        }));
        if (opts.json) print(rows);
        else
          process.stdout.write(
            `${table(
              ['TIME', 'INCIDENT', 'ACTION', 'TYPE', 'TARGET', 'DECISION', 'REASON'],
              rows.map((r) => [
                new Date(r.timeMs).toISOString(),
                r.incidentId,
                r.actionId,
                r.type,
                r.target,
                r.guardrail ? `${r.decision} (${r.guardrail})` : r.decision,
                r.reason.slice(0, 80),
              ]),
            )}\n`,
          );
      } else if (opts.actions) {
        const res = await client.listActions(
          create(ListActionsRequestSchema, { incidentId: id ?? '' }),
          deadline(),
        );
        if (opts.json) print(res.actions.map(actionJson));
        else
          process.stdout.write(
            `${table(['ACTION', 'TYPE', 'TARGET', 'MODE', 'STATUS', 'MESSAGE'], res.actions.map(actionRow))}\n`,
          );
      } else if (id) {
        const inc = await client.getIncident(create(GetIncidentRequestSchema, { id }), deadline());
        const actions = await client.listActions(
          create(ListActionsRequestSchema, { incidentId: id }),
          deadline(),
        );
        if (opts.json) print({ ...incidentJson(inc), actions: actions.actions.map(actionJson) });
        else process.stdout.write(`${details(inc, actions.actions, now)}\n`);
      } else {
        const res = await client.listIncidents(
          create(ListIncidentsRequestSchema, { includeResolved: Boolean(opts.all) }),
          deadline(),
        );
        if (opts.json) print(res.incidents.map(incidentJson));
        else
          process.stdout.write(
            `${table(
              ['INCIDENT', 'STATUS', 'SEVERITY', 'SIGNALS', 'NODES', 'ROOT CAUSE', 'AGE'],
              res.incidents.map((i) => incidentRow(i, now)),
            )}\n`,
          );
      }
    } catch (error) {
      process.stderr.write(`vigil incidents: ${(error as Error).message}\n`);
      process.exitCode = 1;
    } finally {
      client.close();
    }
  });
}
