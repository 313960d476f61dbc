import { afterEach, describe, expect, it } from 'vitest';
import type { Agent } from '../../../agent/agent.ts';
import type { Aggregator } from '../../../aggregator/aggregator.ts';
import { agentConfig, inProcessAgent, inProcessAggregator } from '../../support/in-process.ts';
import { eventually, freePort } from '../../support/processes.ts';

const running: Array<{ stop(): Promise<void> }> = [];
afterEach(async () => {
  for (const r of running.splice(0).reverse()) await r.stop();
});

function fillWindow(agent: Agent, series: number) {
  for (let i = 0; i < series; i++)
    agent.digests.add(`test.series_${i}`, i * 1.5, { labels: { i: String(i) } });
}

describe('outbox cap while the aggregator is down', () => {
  it('drops the oldest batches, and the aggregator learns exactly how many', async () => {
    const port = await freePort();
    const agent = await inProcessAgent(agentConfig('capped', port, { outboxMaxBytes: 64 * 1024 }));
    running.push(agent);
    // ~3 KB per window against a 64 KiB cap, with nobody to send to.
    for (let i = 0; i < 80; i++) {
      fillWindow(agent, 60);
      await agent.closeWindow();
      expect(agent.outbox.bytes).toBeLessThanOrEqual(64 * 1024);
    }
    const dropped = agent.outbox.drops.droppedBatches;
    expect(dropped).toBeGreaterThan(40);
    const kept = agent.outbox.count;
    expect(dropped + kept).toBe(80);

    const agg: Aggregator = await inProcessAggregator({ grpcPort: port });
    running.unshift(agg);
    await eventually(() => agent.outbox.count === 0, 45_000, 'outbox drained');
    // One more window carries the drop totals of the last drops.
    await agent.closeWindow();
    await eventually(() => agent.outbox.count === 0, 45_000, 'last window acked');
    const record = agg.registry.get('capped')!.record;
    expect(record.droppedBatches).toBe(dropped);
    expect(record.batches).toBe(kept + 1);
    expect(record.lastSeq).toBe(81);
  });
});
