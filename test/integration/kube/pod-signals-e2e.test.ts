// A scenario end to end on the simulated cluster: the agent on db-0's node watches its pods through the
// real client-node code against the simulator's Kubernetes API, and the OOM kill reaches the aggregator
// as a signal carrying the pod's metadata.
import { CoreV1Api, KubeConfig } from '@kubernetes/client-node';
import { afterAll, describe, expect, it } from 'vitest';
import type { Agent } from '../../../agent/agent.ts';
import type { Aggregator } from '../../../aggregator/aggregator.ts';
import type { Signal } from '../../../common/signal.ts';
import { signalFromWire } from '../../../common/signal-wire.ts';
import { type Simulator, startSimulator } from '../../../sim/simulator.ts';
import {
  agentConfig,
  inProcessAgent,
  inProcessAggregator,
  quietLogger,
  tempDir,
} from '../../support/in-process.ts';
import { eventually } from '../../support/processes.ts';

const running: Array<{ stop(): Promise<void> }> = [];
afterAll(async () => {
  for (const r of running.splice(0).reverse()) await r.stop();
});

describe('Kubernetes pod signals on the simulated cluster', () => {
  it('delivers the OOM kill of db-0 to the aggregator with its namespace, workload and node', async () => {
    const sim: Simulator = await startSimulator({
      scenario: 'default',
      root: tempDir('sim'),
      speed: 4,
      logger: quietLogger,
    });
    running.push(sim);
    const kc = new KubeConfig();
    kc.loadFromFile(sim.kubeconfigPath);
    const core = kc.makeApiClient(CoreV1Api);
    const db = await eventually(
      async () => {
        const pod = await core.readNamespacedPod({ name: 'db-0', namespace: 'shop' });
        return pod.spec?.nodeName ? pod : undefined;
      },
      30_000,
      'db-0 scheduled',
    );
    const node = db.spec!.nodeName!;

    const agg: Aggregator = await inProcessAggregator();
    running.push(agg);
    const received: Signal[] = [];
    agg.registry.on('summary', (_node, _seq, summary) =>
      received.push(...summary.signals.map(signalFromWire)),
    );
    const agent: Agent = await inProcessAgent(
      agentConfig(node, agg.grpcPort, { kubeconfig: sim.kubeconfigPath, windowSeconds: 0.5 }),
    );
    running.push(agent);
    await eventually(() => agent.kube?.synced, 20_000, 'pod informer synced');
    // Only this node's pods are watched.
    const onNode = (await core.listPodForAllNamespaces({ fieldSelector: `spec.nodeName=${node}` })).items
      .length;
    expect(agent.kube!.podCount).toBe(onNode);

    const oom = await eventually(
      () => received.find((s) => s.kind === 'pod.oom_killed'),
      60_000,
      'OOM signal',
    );
    expect(oom.subject).toMatchObject({
      kind: 'container',
      node,
      namespace: 'shop',
      pod: 'db-0',
      workload: 'StatefulSet/db',
    });
    expect(oom.explanation).toMatch(/OOM-killed \(exit 137\)/);
  });
});
