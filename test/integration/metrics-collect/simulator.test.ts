import { existsSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { pino } from 'pino';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createMetricCollector } from '../../../agent/sources/metrics/collector.ts';
import { type Simulator, startSimulator } from '../../../sim/simulator.ts';
import { RecordingSink, recordingLogger } from './recording.ts';

let sim: Simulator;
let node: string;

function containerLinks(root: string): number {
  try {
    return readdirSync(join(root, 'var', 'log', 'containers')).length;
  } catch {
    return 0;
  }
}

beforeAll(async () => {
  sim = await startSimulator({ scenario: 'default', logger: pino({ level: 'silent' }) });
  node = sim.nodes.find((n) => !sim.controlPlaneNodes.includes(n)) ?? sim.nodes[0]!;
  const deadline = Date.now() + 30_000;
  // Wait for the node's files, so that the warnings below are about what the simulator never writes.
  const ready = () =>
    containerLinks(sim.nodeRoot(node)) > 0 &&
    existsSync(join(sim.nodeRoot(node), 'sys', 'fs', 'cgroup', 'kubepods.slice')) &&
    existsSync(join(sim.nodeRoot(node), '.sim', 'statfs.json'));
  while (!ready() && Date.now() < deadline) await new Promise((r) => setTimeout(r, 100));
});

afterAll(async () => {
  await sim?.stop();
});

describe('metric collection on a simulated node', () => {
  it("reads the simulator's /proc, cgroup tree and statfs.json and names its pods", async () => {
    const { logger, warnings } = recordingLogger();
    const collector = createMetricCollector({ hostRoot: sim.nodeRoot(node), node, logger });
    const sink = new RecordingSink();
    const namedContainers = () =>
      sink.named('container.memory.current_bytes').filter((s) => s.meta.subject?.namespace !== undefined);
    // The simulator writes its files about once a second: sample until its pods show up.
    const deadline = Date.now() + 30_000;
    for (let t = 0; namedContainers().length === 0 && Date.now() < deadline; t += 1000) {
      sink.clear();
      collector.sample(sink, t);
      await new Promise((r) => setTimeout(r, 200));
    }
    sink.clear();
    collector.sample(sink, 1_000_000);
    expect(collector.cgroupVersion()).toBe('v2');
    expect(sink.named('node.memory.used_bytes')[0]?.meta.capacity).toBe(sim.models.get(node)?.memoryBytes);
    expect(sink.named('node.fs.used_bytes')[0]?.meta.labels).toEqual({ mount: '/' });
    expect(sink.named('node.net.rx_bytes_per_s').map((s) => s.meta.labels?.['interface'])).toContain('eth0');
    const named = namedContainers();
    expect(named.length).toBeGreaterThan(0);
    for (const s of named) expect(s.meta.subject?.container).not.toMatch(/^[0-9a-f]{12}$/);
    // The simulator writes every source a real node has: nothing is switched off, and the limits are read.
    expect(warnings().map((l) => l.source)).toEqual([]);
    // min(pid_max, threads-max), as the kernel caps threads.
    const threadsMax = Math.floor((sim.models.get(node)?.memoryBytes ?? 0) / 131072);
    expect(sink.named('node.pids.current')[0]?.meta.capacity).toBe(Math.min(4194304, threadsMax));
    expect(sink.named('node.conntrack.entries')[0]?.meta.capacity).toBe(262144);
    collector.close();
  });
});
