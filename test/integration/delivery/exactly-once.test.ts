// Real processes, real gRPC on loopback, real LMDB in temp dirs: crashes on either side lose nothing and
// count nothing twice.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { freePort, type Proc, startVigil } from '../../support/processes.ts';
import { range, readAggregatorState, readOutbox } from '../../support/stores.ts';

const procs: Proc[] = [];
const dirs: string[] = [];

function tempDir(name: string): string {
  const d = mkdtempSync(join(tmpdir(), `vigil-${name}-`));
  dirs.push(d);
  return d;
}

function aggregator(port: number, stateDir: string): Proc {
  const p = startVigil([
    'aggregator',
    '--grpc-host',
    '127.0.0.1',
    '--grpc-port',
    String(port),
    '--http-port',
    '0',
    '--state-dir',
    stateDir,
    '--retain-summaries',
    '1000000',
  ]);
  procs.push(p);
  return p;
}

function agent(node: string, port: number, stateDir: string): Proc {
  const p = startVigil([
    'agent',
    '--node',
    node,
    '--aggregator',
    `127.0.0.1:${port}`,
    '--state-dir',
    stateDir,
    '--http-port',
    '0',
    '--window-seconds',
    '0.1',
    '--shutdown-grace-seconds',
    '15',
    '--system-metrics',
    'false',
  ]);
  procs.push(p);
  return p;
}

const started = (l: Record<string, unknown>) => l['msg'] === 'aggregator started';
const connected = (l: Record<string, unknown>) => l['msg'] === 'connected to aggregator';
const pause = (ms: number) => new Promise((r) => setTimeout(r, ms));

afterEach(async () => {
  await Promise.all(procs.splice(0).map((p) => p.kill('SIGKILL')));
  for (const d of dirs.splice(0)) rmSync(d, { recursive: true, force: true });
});

/** Every sequence the agent wrote is stored once, and counted once. */
async function expectExactlyOnce(aggDir: string, nodes: Record<string, string>) {
  const agg = await readAggregatorState(aggDir);
  for (const [node, dir] of Object.entries(nodes)) {
    const outbox = await readOutbox(dir);
    const written = outbox.nextSeq - 1;
    expect(outbox.count, `${node}: outbox drained`).toBe(0);
    expect(written, `${node}: wrote batches`).toBeGreaterThan(5);
    expect(agg.seqs.get(node), `${node}: every sequence stored once`).toEqual(range(1, written));
    expect(agg.records.get(node)?.batches, `${node}: counted once each`).toBe(written);
    expect(agg.records.get(node)?.lastSeq).toBe(written);
  }
}

describe('delivery across crashes', () => {
  it('stores every batch exactly once when the aggregator is killed and restarted while two agents stream', async () => {
    const port = await freePort();
    const aggDir = tempDir('agg');
    const dirs = { 'node-a': tempDir('a'), 'node-b': tempDir('b') };
    let agg = aggregator(port, aggDir);
    await agg.waitFor(started);
    const agents = Object.entries(dirs).map(([node, dir]) => agent(node, port, dir));
    await Promise.all(agents.map((a) => a.waitFor(connected)));
    await pause(1500);
    expect(await agg.kill('SIGKILL')).toBe(null);
    await pause(1000); // agents keep writing windows into their outboxes meanwhile
    agg = aggregator(port, aggDir);
    await agg.waitFor(started);
    // Each agent reconnects (its second "connected" line) and replays what was not acked.
    await Promise.all(
      agents.map((a) => a.waitFor((l) => connected(l) && Number(l['aggregatorLastSeq']) > 0)),
    );
    await pause(1000);
    for (const a of agents) expect(await a.kill('SIGTERM')).toBe(0);
    expect(await agg.kill('SIGTERM')).toBe(0);
    await expectExactlyOnce(aggDir, dirs);
  });

  it('replays unacked batches after the agent is killed with SIGKILL and restarted', async () => {
    const port = await freePort();
    const aggDir = tempDir('agg');
    const agentDir = tempDir('agent');
    let agg = aggregator(port, aggDir);
    await agg.waitFor(started);
    let a = agent('node-k', port, agentDir);
    await a.waitFor(connected);
    await pause(800);
    // Take the aggregator away so batches pile up unacked, then kill the agent without warning.
    expect(await agg.kill('SIGTERM')).toBe(0);
    await pause(800);
    expect(await a.kill('SIGKILL')).toBe(null);
    const pending = await readOutbox(agentDir);
    expect(pending.count, 'unacked batches were on disk at the kill').toBeGreaterThan(3);

    agg = aggregator(port, aggDir);
    await agg.waitFor(started);
    a = agent('node-k', port, agentDir);
    await a.waitFor(connected);
    await pause(800);
    expect(await a.kill('SIGTERM')).toBe(0);
    expect(await agg.kill('SIGTERM')).toBe(0);
    await expectExactlyOnce(aggDir, { 'node-k': agentDir });
    const after = await readOutbox(agentDir);
    expect(after.nextSeq - 1).toBeGreaterThan(pending.nextSeq - 1);
  });
});
