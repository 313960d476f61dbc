// Runs one scenario end to end — the simulated cluster, one agent per simulated node and an aggregator
// with the incident engine, all real (gRPC on loopback, LMDB in a temporary directory, the Kubernetes API
// of the simulator) but in one process to stay light — and reports what Vigil made of it in the scenario
// file's own vocabulary.
import { resolve } from 'node:path';
import { pino } from 'pino';
import type { Incident } from '../../aggregator/correlate/incident.ts';
import { matchesGroundTruth, toScenarioVocabulary } from '../../aggregator/correlate/vocabulary.ts';
import { startLocalCluster } from './local-cluster.ts';

export interface ScenarioRunOptions {
  scenario: string;
  speed: number;
  /** Remediation policy; the shipped one by default. */
  policy?: string;
  /** Approve every action that waits for approval, as an operator at the keyboard would. */
  approveAll: boolean;
  logLevel: string;
}

export interface ScenarioReport {
  scenario: string;
  signals: number;
  incidents: number;
  rootCause: {
    expected: { kind: string; object: string };
    ranked: Array<{ kind: string; object: string; score: number; reasons: string[] }>;
  };
  detectSeconds: number | null;
  remediateSeconds: number | null;
  resolveSeconds: number | null;
  actions: Array<{ type: string; target: string; status: string; verification?: string }>;
}

const seconds = (fromMs: number, toMs: number | undefined) =>
  toMs === undefined || !fromMs ? null : Math.round((toMs - fromMs) / 100) / 10;

export async function runScenario(opts: ScenarioRunOptions): Promise<ScenarioReport> {
  const logger = pino({ level: opts.logLevel }, pino.destination({ fd: 2, sync: false }));
  const cluster = await startLocalCluster({
    scenario: opts.scenario,
    speed: opts.speed,
    logger,
    aggregator: {
      policyFile: resolve(opts.policy ?? 'policies/default.yaml'),
      // Scenarios last about a minute and a half: incidents must be able to resolve within one.
      incidentQuietSeconds: 20,
    },
    agent: { windowSeconds: 2, logWarmupSeconds: 6 },
  });
  const { sim, aggregator } = cluster;
  let signals = 0;
  aggregator.registry.on('summary', (_node, _seq, summary) => {
    signals += summary.signals.length;
  });
  if (opts.approveAll) {
    aggregator.incidents.on('action', (a) => {
      if (a.status === 'pending_approval')
        void aggregator.incidents.approve(a.id, 'scenario-runner').catch(() => {});
    });
  }
  const durationMs = (sim.scenario.durationSeconds * 1000) / opts.speed;
  await new Promise((r) => setTimeout(r, durationMs + 5000));

  const faultMs = cluster.faults[0]?.atMs ?? 0;
  const expected = sim.groundTruth.rootCause;
  const incidents: Incident[] = aggregator.incidents
    .incidents()
    .filter((i) => !i.resolvedBy?.startsWith('merged'));
  const match =
    incidents.find((i) => i.rootCauses.some((c) => matchesGroundTruth(c, expected, { objectOnly: true }))) ??
    [...incidents].sort((a, b) => b.signalCount - a.signalCount)[0];
  const actions = match ? aggregator.incidents.actions({ incidentId: match.id }) : [];
  const firstDone = actions
    .filter((a) => a.status === 'succeeded')
    .map((a) => a.finishedMs ?? a.updatedMs)
    .sort((a, b) => a - b)[0];
  const report: ScenarioReport = {
    scenario: sim.scenario.name,
    signals,
    incidents: incidents.length,
    rootCause: {
      expected,
      ranked: (match?.rootCauses ?? [])
        .slice(0, 5)
        .map((c) => ({ ...toScenarioVocabulary(c), score: c.score, reasons: c.reasons })),
    },
    detectSeconds: match ? seconds(faultMs, match.openedMs) : null,
    remediateSeconds: seconds(faultMs, firstDone),
    resolveSeconds: match?.status === 'resolved' ? seconds(faultMs, match.resolvedMs) : null,
    actions: actions.map((a) => ({
      type: a.type,
      target: a.target.object,
      status: a.status,
      ...(a.verification ? { verification: a.verification } : {}),
    })),
  };
  await cluster.stop();
  logger.flush();
  return report;
}
