// The incident API (vigil.v1.IncidentService): lists, gets and watches incidents, drives their lifecycle,
// lists / approves / rejects remediation actions, takes external change events and serves the audit trail.
// Errors map to gRPC status codes here, at the edge. A slow watcher never slows the engine: while its
// stream buffer is full, events for it are skipped (the next update of the same incident carries the state).
import { create } from '@bufbuild/protobuf';
import * as grpc from '@grpc/grpc-js';
import type { ServiceHandlers } from '../../common/grpc/adapter.ts';
import type { Severity } from '../../common/signal.ts';
import { subjectToWire } from '../../common/signal-wire.ts';
import {
  type Action,
  ActionSchema,
  AuditEntrySchema,
  type IncidentEvent,
  IncidentEventSchema,
  IncidentSchema,
  type IncidentService,
  IngestEventResponseSchema,
  IngestScanReportResponseSchema,
  ListActionsResponseSchema,
  ListAuditResponseSchema,
  ListIncidentsResponseSchema,
  type Incident as WireIncident,
} from '../../proto/gen/vigil/v1/incidents_pb.js';
import { Severity as WireSeverity } from '../../proto/gen/vigil/v1/signal_pb.js';
import type { IncidentChange, IncidentEngine } from '../correlate/engine.ts';
import type { Incident } from '../correlate/incident.ts';
import type { RemediationAction } from '../remediate/action.ts';
import type { AuditEntry } from '../remediate/audit.ts';
import { InvalidReportError, parseTrivyReport } from '../security/trivy.ts';
import { VulnerabilityIndex, vulnerableWorkloadSignal } from '../security/vulnerability-index.ts';
import { EmptyTopology } from '../state/empty-topology.ts';
import type { ChangeEvent, Topology } from '../state/topology.ts';

const SEVERITY: Record<Severity, WireSeverity> = {
  info: WireSeverity.INFO,
  warning: WireSeverity.WARNING,
  error: WireSeverity.ERROR,
  critical: WireSeverity.CRITICAL,
};

export function incidentToWire(i: Incident, withDetails: boolean): WireIncident {
  return create(IncidentSchema, {
    id: i.id,
    status: i.status,
    title: i.title,
    severity: SEVERITY[i.severity],
    openedMs: BigInt(i.openedMs),
    updatedMs: BigInt(i.updatedMs),
    firstSignalMs: BigInt(i.firstSignalMs),
    lastSignalMs: BigInt(i.lastSignalMs),
    resolvedMs: BigInt(i.resolvedMs ?? 0),
    resolvedBy: i.resolvedBy ?? '',
    acknowledgedBy: i.acknowledgedBy ?? '',
    signalCount: BigInt(i.signalCount),
    groups: withDetails
      ? i.groups.map((g) => ({
          kind: g.kind,
          subject: subjectToWire(g.subject),
          count: g.count,
          firstMs: BigInt(g.firstMs),
          lastMs: BigInt(g.lastMs),
          severity: SEVERITY[g.severity],
          score: g.score,
          explanation: g.explanation,
          lines: g.exemplar.evidence?.lines ?? [],
          calls: g.calls,
        }))
      : [],
    nodes: i.nodes,
    namespaces: i.namespaces,
    rootCauses: i.rootCauses.map((c) => ({
      kind: c.kind,
      object: c.object,
      score: c.score,
      reasons: c.reasons,
      firstMs: BigInt(c.firstMs),
    })),
    timeline: withDetails
      ? i.timeline.map((t) => ({ timeMs: BigInt(t.timeMs), type: t.type, text: t.text }))
      : [],
    actionIds: i.actions,
    version: BigInt(i.version),
    groupCount: i.groups.length,
  });
}

export function actionToWire(a: RemediationAction): Action {
  return create(ActionSchema, {
    id: a.id,
    incidentId: a.incidentId,
    rule: a.rule,
    type: a.type,
    target: a.target.object,
    node: a.target.node ?? '',
    params: a.params,
    mode: a.mode,
    status: a.status,
    step: a.step,
    createdMs: BigInt(a.createdMs),
    updatedMs: BigInt(a.updatedMs),
    deadlineMs: BigInt(a.deadlineMs ?? 0),
    finishedMs: BigInt(a.finishedMs ?? 0),
    decidedBy: a.decidedBy ?? '',
    message: a.message,
    verification: a.verification ?? '',
  });
}

function auditToWire(e: AuditEntry) {
  return create(AuditEntrySchema, {
    seq: BigInt(e.seq),
    timeMs: BigInt(e.timeMs),
    incidentId: e.incidentId,
    actionId: e.actionId,
    type: e.type,
    target: e.target,
    decision: e.decision,
    guardrail: e.guardrail ?? '',
    reason: e.reason,
    actor: e.actor,
  });
}

function status(code: grpc.status, details: string): Partial<grpc.StatusObject> {
  return { code, details };
}

/** Typed engine errors carry a `code`; everything else is INTERNAL. */
function toStatus(error: unknown): Partial<grpc.StatusObject> {
  const e = error as { code?: string; message?: string };
  if (e.code === 'NOT_FOUND') return status(grpc.status.NOT_FOUND, e.message ?? 'not found');
  if (e.code === 'FAILED_PRECONDITION')
    return status(grpc.status.FAILED_PRECONDITION, e.message ?? 'failed precondition');
  return status(grpc.status.INTERNAL, e.message ?? String(error));
}

const EVENT_KINDS: Record<string, ChangeEvent['kind']> = {
  'deploy-marker': 'deploy-marker',
  'ci-result': 'deploy-marker',
  rollout: 'rollout',
  scale: 'scale',
  config: 'config',
  node: 'node',
};

/** Where scanner reports go: the index `checkNewRollouts` also reads, and the cluster they are joined to. */
export interface ScanReportDeps {
  index: VulnerabilityIndex;
  topology: Topology;
}

export function incidentHandlers(
  engine: IncidentEngine,
  clock: () => number = Date.now,
  scans: ScanReportDeps = { index: new VulnerabilityIndex(), topology: new EmptyTopology() },
): ServiceHandlers<typeof IncidentService> {
  const by = (who: string) => who || 'api';
  return {
    listIncidents(call, callback) {
      const req = call.request;
      let list = engine.incidents();
      if (!req.includeResolved) list = list.filter((i) => i.status !== 'resolved');
      if (req.limit > 0) list = list.slice(0, req.limit);
      callback(
        null,
        create(ListIncidentsResponseSchema, {
          incidents: list.map((i) => incidentToWire(i, req.withDetails)),
        }),
      );
    },

    getIncident(call, callback) {
      const inc = engine.incident(call.request.id);
      if (!inc) return callback(status(grpc.status.NOT_FOUND, `no incident ${call.request.id}`));
      callback(null, incidentToWire(inc, true));
    },

    watchIncidents(call: grpc.ServerWritableStream<unknown, IncidentEvent>) {
      const withDetails = (call.request as { withDetails: boolean }).withDetails;
      const push = (event: IncidentEvent) => {
        if (call.writableNeedDrain) return;
        call.write(event);
      };
      const onIncident = (incident: Incident, change: IncidentChange) =>
        push(create(IncidentEventSchema, { change, incident: incidentToWire(incident, withDetails) }));
      const onAction = (action: RemediationAction) =>
        push(create(IncidentEventSchema, { change: 'action', action: actionToWire(action) }));
      for (const inc of engine.incidents()) {
        if (inc.status !== 'resolved')
          push(
            create(IncidentEventSchema, { change: 'snapshot', incident: incidentToWire(inc, withDetails) }),
          );
      }
      engine.on('incident', onIncident);
      engine.on('action', onAction);
      let stopped = false;
      const stop = () => {
        if (stopped) return;
        stopped = true;
        engine.off('incident', onIncident);
        engine.off('action', onAction);
      };
      call.on('cancelled', stop);
      call.on('close', stop);
      call.on('error', stop);
    },

    acknowledgeIncident(call, callback) {
      const current = engine.incident(call.request.id);
      if (!current) return callback(status(grpc.status.NOT_FOUND, `no incident ${call.request.id}`));
      if (current.status === 'resolved') {
        return callback(status(grpc.status.FAILED_PRECONDITION, `incident ${current.id} is resolved`));
      }
      const inc = engine.acknowledge(call.request.id, by(call.request.by));
      callback(null, incidentToWire(inc ?? current, true));
    },

    resolveIncident(call, callback) {
      const inc = engine.resolve(call.request.id, by(call.request.by));
      if (!inc) return callback(status(grpc.status.NOT_FOUND, `no incident ${call.request.id}`));
      callback(null, incidentToWire(inc, true));
    },

    listActions(call, callback) {
      const filter: { incidentId?: string; status?: string } = {};
      if (call.request.incidentId) filter.incidentId = call.request.incidentId;
      if (call.request.status) filter.status = call.request.status;
      callback(
        null,
        create(ListActionsResponseSchema, { actions: engine.actions(filter).map(actionToWire) }),
      );
    },

    approveAction(call, callback) {
      engine.approve(call.request.id, by(call.request.by)).then(
        (a) => callback(null, actionToWire(a)),
        (error: unknown) => callback(toStatus(error)),
      );
    },

    rejectAction(call, callback) {
      try {
        callback(
          null,
          actionToWire(engine.reject(call.request.id, by(call.request.by), call.request.reason)),
        );
      } catch (error) {
        callback(toStatus(error));
      }
    },

    ingestEvent(call, callback) {
      const req = call.request;
      const kind = EVENT_KINDS[req.kind];
      if (!kind) {
        return callback(
          status(
            grpc.status.INVALID_ARGUMENT,
            `kind must be one of ${Object.keys(EVENT_KINDS).join(', ')} (got "${req.kind}")`,
          ),
        );
      }
      if (!/^[A-Za-z]+\/[^/]*\/.+$/.test(req.object)) {
        return callback(
          status(
            grpc.status.INVALID_ARGUMENT,
            `object must look like Kind/namespace/name (got "${req.object}")`,
          ),
        );
      }
      const attrs = Object.entries(req.attributes).map(([k, v]) => `${k}=${v}`);
      const description = [req.kind === 'ci-result' ? 'CI/CD' : '', req.description, ...attrs]
        .filter(Boolean)
        .join(' ');
      engine.ingestEvent({
        kind,
        object: req.object,
        timeMs: req.timeMs > 0n ? Number(req.timeMs) : clock(),
        description,
      });
      callback(null, create(IngestEventResponseSchema, {}));
    },

    ingestScanReport(call, callback) {
      const format = call.request.format || 'trivy';
      if (format !== 'trivy') {
        return callback(status(grpc.status.INVALID_ARGUMENT, `format must be "trivy" (got "${format}")`));
      }
      let report: ReturnType<typeof parseTrivyReport>;
      try {
        report = parseTrivyReport(call.request.report);
      } catch (error) {
        if (error instanceof InvalidReportError) {
          return callback(status(grpc.status.INVALID_ARGUMENT, error.message));
        }
        return callback(toStatus(error));
      }
      scans.index.add(report);
      const affected = scans.index.workloadsAffected(scans.topology, report);
      const now = clock();
      const signals = affected.flatMap((a) => vulnerableWorkloadSignal(a, now) ?? []);
      if (signals.length > 0) engine.ingestSignals(signals);
      callback(
        null,
        create(IngestScanReportResponseSchema, {
          image: report.image,
          critical: report.counts.CRITICAL,
          criticalFixable: report.criticalFixable.length,
          high: report.counts.HIGH,
          affectedWorkloads: affected.map((a) => a.workload),
        }),
      );
    },

    listAudit(call, callback) {
      const r = call.request;
      const q: {
        incidentId?: string;
        actionId?: string;
        decision?: string;
        sinceMs?: number;
        limit?: number;
      } = {};
      if (r.incidentId) q.incidentId = r.incidentId;
      if (r.actionId) q.actionId = r.actionId;
      if (r.decision) q.decision = r.decision;
      if (r.sinceMs > 0n) q.sinceMs = Number(r.sinceMs);
      if (r.limit > 0) q.limit = r.limit;
      callback(null, create(ListAuditResponseSchema, { entries: engine.audit(q).map(auditToWire) }));
    },
  };
}
