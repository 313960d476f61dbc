// Runs one shipped scenario end to end in this process (simulator, one agent per node, aggregator, the
// informer-backed topology and the incident engine) and prints what the engine made of it as JSON.
// Usage: npx node test/integration/incidents/eval-scenario.ts <scenario> [speed] [policy.yaml] [--approve-all]
// With a policy, remediation runs against the simulator (KubeExecutor); --approve-all approves every action
// that waits for approval, as a person at `vigil approve` would.
import { KubeConfig } from '@kubernetes/client-node';
import { createIncidentEngine } from '../../../aggregator/correlate/engine.ts';
import { matchesGroundTruth, toScenarioVocabulary } from '../../../aggregator/correlate/vocabulary.ts';
import { KubeExecutor } from '../../../aggregator/remediate/kube-executor.ts';
import { loadPolicy } from '../../../aggregator/remediate/policy.ts';
import { KubeTopology } from '../../../aggregator/state/kube-topology.ts';
import { signalFromWire } from '../../../common/signal-wire.ts';
import { startSimulator } from '../../../sim/simulator.ts';
import {
  agentConfig,
  inProcessAgent,
  inProcessAggregator,
  quietLogger,
  tempDir,
} from '../../support/in-process.ts';

const name = process.argv[2] ?? 'default';
const speed = Number(process.argv[3] ?? 2);
const sim = await startSimulator({ scenario: name, root: tempDir('sim'), speed, logger: quietLogger });
const kc = new KubeConfig();
kc.loadFromFile(sim.kubeconfigPath);
const topology = new KubeTopology(kc, quietLogger);
await topology.start();
const agg = await inProcessAggregator();
const policyFile = process.argv[4]?.endsWith('.yaml') ? process.argv[4] : undefined;
const approveAll = process.argv.includes('--approve-all');
const engine = createIncidentEngine({
  topology,
  logger: quietLogger,
  ...(policyFile
    ? {
        policy: {
          ...loadPolicy(policyFile),
          guardrails: { ...loadPolicy(policyFile).guardrails, verifySeconds: 20 },
        },
        kube: new KubeExecutor(kc),
      }
    : {}),
  correlation: { quietMs: 20_000 },
});
const actionLog: string[] = [];
engine.on('action', (a) => {
  actionLog.push(
    `${((Date.now() - (faultMs || Date.now())) / 1000).toFixed(1)}s ${a.type} ${a.target.object} ${a.mode} ${a.status}${a.verification ? ` ${a.verification}` : ''}: ${a.message}`,
  );
  if (approveAll && a.status === 'pending_approval') void engine.approve(a.id, 'eval');
});
let signals = 0;
const kinds = new Map<string, number>();
agg.registry.on('summary', (node, _seq, summary) => {
  signals += summary.signals.length;
  for (const s of summary.signals.map(signalFromWire)) kinds.set(s.kind, (kinds.get(s.kind) ?? 0) + 1);
  engine.ingest(node, summary);
});
const agents = [];
for (const node of sim.nodes) {
  agents.push(
    await inProcessAgent(
      agentConfig(node, agg.grpcPort, {
        kubeconfig: sim.kubeconfigPath,
        hostRoot: sim.nodeRoot(node),
        windowSeconds: 2,
        logWarmupSeconds: 6,
      } as never),
    ),
  );
}
let faultMs = 0;
sim.events.on('fault', () => {
  faultMs ||= Date.now();
});
const durationMs = (((sim.scenario as { durationSeconds?: number }).durationSeconds ?? 90) * 1000) / speed;
const timer = setInterval(() => engine.tick(), 1000);
await new Promise((r) => setTimeout(r, durationMs + (policyFile ? 30_000 : 5000)));
clearInterval(timer);
const expected = sim.groundTruth.rootCause;
const incidents = engine.incidents().filter((i) => !i.resolvedBy?.startsWith('merged'));
const match =
  incidents.find((i) => i.rootCauses.some((c) => matchesGroundTruth(c, expected, { objectOnly: true }))) ??
  incidents[0];
process.stdout.write(
  `${JSON.stringify(
    {
      scenario: name,
      signals,
      kinds: Object.fromEntries(kinds),
      incidents: incidents.length,
      expected,
      ranked: match?.rootCauses
        .slice(0, 3)
        .map((c) => ({ ...toScenarioVocabulary(c), score: c.score, reasons: c.reasons })),
      detectSeconds: match && faultMs ? (match.openedMs - faultMs) / 1000 : null,
      resolved:
        match?.status === 'resolved'
          ? { by: match.resolvedBy, seconds: ((match.resolvedMs ?? 0) - faultMs) / 1000 }
          : null,
      actions: actionLog,
      all: incidents.map((i) => ({
        id: i.id,
        signals: i.signalCount,
        top: i.rootCauses[0] && toScenarioVocabulary(i.rootCauses[0]),
        title: i.title,
      })),
    },
    null,
    2,
  )}\n`,
);
for (const a of agents) await a.stop();
await agg.stop();
await topology.stop();
await sim.stop();
process.exit(0);
