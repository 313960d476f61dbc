// Outbound notification bodies: one message per incident, in the two formats integrators already accept.
// Alertmanager webhook v4 (groupKey = incident id, one alert standing for the incident) and PagerDuty
// Events API v2 (dedup_key = incident id: trigger, then acknowledge / resolve the same alert).
import type { Incident } from '../correlate/incident.ts';

export interface AlertmanagerWebhook {
  version: '4';
  groupKey: string;
  truncatedAlerts: number;
  status: 'firing' | 'resolved';
  receiver: string;
  groupLabels: Record<string, string>;
  commonLabels: Record<string, string>;
  commonAnnotations: Record<string, string>;
  externalURL: string;
  alerts: Array<{
    status: 'firing' | 'resolved';
    labels: Record<string, string>;
    annotations: Record<string, string>;
    startsAt: string;
    endsAt: string;
    generatorURL: string;
    fingerprint: string;
  }>;
}

export interface PagerDutyEvent {
  routing_key: string;
  event_action: 'trigger' | 'acknowledge' | 'resolve';
  dedup_key: string;
  payload?: {
    summary: string;
    source: string;
    severity: 'critical' | 'error' | 'warning' | 'info';
    timestamp: string;
    component?: string;
    group?: string;
    class?: string;
    custom_details: Record<string, unknown>;
  };
  client: string;
  client_url?: string;
}

const ZERO_TIME = '0001-01-01T00:00:00Z';

export function summaryLine(incident: Incident): string {
  const top = incident.rootCauses[0];
  const cause = top ? `${top.kind} ${top.object}` : incident.title;
  return `${cause} — ${incident.signalCount} signals on ${incident.nodes.length} node(s)`;
}

function labelsOf(incident: Incident): Record<string, string> {
  const top = incident.rootCauses[0];
  const labels: Record<string, string> = {
    alertname: 'VigilIncident',
    incident: incident.id,
    severity: incident.severity,
  };
  if (top) {
    labels['root_cause_kind'] = top.kind;
    labels['root_cause'] = top.object;
  }
  if (incident.namespaces.length === 1 && incident.namespaces[0])
    labels['namespace'] = incident.namespaces[0];
  return labels;
}

export function alertmanagerPayload(
  incident: Incident,
  opts: { receiver: string; externalURL: string },
): AlertmanagerWebhook {
  const status = incident.status === 'resolved' ? 'resolved' : 'firing';
  const labels = labelsOf(incident);
  const top = incident.rootCauses[0];
  const annotations: Record<string, string> = {
    summary: summaryLine(incident),
    description: top ? top.reasons.join('; ') : incident.title,
    status: incident.status,
    signals: String(incident.signalCount),
    nodes: incident.nodes.slice(0, 20).join(','),
  };
  const url = `${opts.externalURL.replace(/\/$/, '')}/incidents/${incident.id}`;
  return {
    version: '4',
    groupKey: incident.id,
    truncatedAlerts: 0,
    status,
    receiver: opts.receiver,
    groupLabels: { incident: incident.id },
    commonLabels: labels,
    commonAnnotations: annotations,
    externalURL: opts.externalURL,
    alerts: [
      {
        status,
        labels,
        annotations,
        startsAt: new Date(incident.firstSignalMs).toISOString(),
        endsAt: incident.resolvedMs !== undefined ? new Date(incident.resolvedMs).toISOString() : ZERO_TIME,
        generatorURL: url,
        fingerprint: incident.id,
      },
    ],
  };
}

export function pagerDutyEvent(
  incident: Incident,
  opts: { routingKey: string; externalURL: string },
): PagerDutyEvent {
  const dedup = incident.id.slice(0, 255);
  const base = {
    routing_key: opts.routingKey,
    dedup_key: dedup,
    client: 'Vigil',
    client_url: `${opts.externalURL.replace(/\/$/, '')}/incidents/${incident.id}`,
  };
  if (incident.status === 'resolved') return { ...base, event_action: 'resolve' };
  const top = incident.rootCauses[0];
  const event: PagerDutyEvent = {
    ...base,
    event_action: incident.status === 'acknowledged' ? 'acknowledge' : 'trigger',
    payload: {
      summary: summaryLine(incident).slice(0, 1024),
      source: top?.object ?? incident.nodes[0] ?? 'vigil',
      severity: incident.severity,
      timestamp: new Date(incident.firstSignalMs).toISOString(),
      class: top?.kind ?? 'incident',
      group: incident.namespaces[0] ?? 'cluster',
      component: top?.object ?? '',
      custom_details: {
        incident: incident.id,
        status: incident.status,
        signals: incident.signalCount,
        nodes: incident.nodes.slice(0, 50),
        root_causes: incident.rootCauses
          .slice(0, 3)
          .map((c) => ({ kind: c.kind, object: c.object, score: c.score, reasons: c.reasons })),
      },
    },
  };
  return event;
}
