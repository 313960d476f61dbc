import { rmSync } from 'node:fs';
import { fromBinary } from '@bufbuild/protobuf';
import { afterEach, describe, expect, it } from 'vitest';
import type { Agent } from '../../../agent/agent.ts';
import { NodeDictionaries } from '../../../aggregator/state/node-dictionaries.ts';
import { type MetricDigest, SummarySchema } from '../../../proto/gen/vigil/v1/summary_pb.js';
import { writeFakeNode } from '../../fixtures/proc/fake-node.ts';
import { agentConfig, inProcessAgent, tempDir } from '../../support/in-process.ts';

let agent: Agent | undefined;
let root: string | undefined;

afterEach(async () => {
  await agent?.stop();
  agent = undefined;
  if (root) rmSync(root, { recursive: true, force: true });
});

describe('agent metric wiring', () => {
  it('samples node and container metrics from hostRoot into the window summary', async () => {
    root = tempDir('agent-host');
    const pods = writeFakeNode(root, { pods: 2, containersPerPod: 2 });
    // Nothing listens on port 1: batches stay in the outbox, where the test reads them.
    agent = await inProcessAgent(
      agentConfig('node-x', 1, {
        hostRoot: root,
        systemMetrics: true,
        metricsIntervalSeconds: 0.1,
        shutdownGraceSeconds: 0,
      }),
    );
    const digests: MetricDigest[] = [];
    // Batches carry packed digests; the aggregator's dictionary expands them back into full ones.
    const dictionaries = new NodeDictionaries();
    const deadline = Date.now() + 20_000;
    // Each closed window drains the digests (so several windows may hold the same series); close windows
    // until one holds a rate, which needs a second sample.
    while (!digests.some((d) => d.name === 'container.cpu.cores') && Date.now() < deadline) {
      await new Promise((r) => setTimeout(r, 200));
      const seq = await agent.closeWindow();
      const [batch] = agent.outbox.read(seq - 1, 1);
      if (!batch) continue;
      const summary = fromBinary(SummarySchema, batch.summary);
      dictionaries.expand('node-x', summary);
      digests.push(...summary.metrics);
    }
    const memory = digests.find((d) => d.name === 'node.memory.used_bytes');
    expect(memory?.capacity).toBe(16_384_000 * 1024);
    const containers = digests.filter((d) => d.name === 'container.memory.current_bytes');
    expect(
      new Set(containers.map((d) => `${d.subject?.namespace}/${d.subject?.pod}/${d.subject?.container}`)),
    ).toEqual(new Set(pods.flatMap((p) => p.containers.map((c) => `${p.namespace}/${p.name}/${c.name}`))));
    expect(containers.every((d) => d.subject?.node === 'node-x')).toBe(true);
    expect(digests.some((d) => d.name === 'container.cpu.cores')).toBe(true);
  });
});
