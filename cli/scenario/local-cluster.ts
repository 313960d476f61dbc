// A whole Vigil on one machine, in one process: the simulated cluster, an aggregator pointed at its
// Kubernetes API, and one agent per simulated node reading that node's files. Real gRPC on loopback, real
// LMDB in a temporary directory. Used by `scenario run` and the benchmarks that need the whole system.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Logger } from 'pino';
import { type Agent, startAgent } from '../../agent/agent.ts';
import { type AgentConfig, agentSettings } from '../../agent/settings.ts';
import { type Aggregator, startAggregator } from '../../aggregator/aggregator.ts';
import { type AggregatorConfig, aggregatorSettings } from '../../aggregator/settings.ts';
import { loadConfig } from '../../common/config/settings.ts';
import type { FaultEvent } from '../../sim/scenario/faults.ts';
import { type Simulator, startSimulator } from '../../sim/simulator.ts';

export interface LocalCluster {
  sim: Simulator;
  aggregator: Aggregator;
  agents: Agent[];
  /** Faults the simulator injected, recorded from its first tick (a fault may fire while agents still start). */
  faults: FaultEvent[];
  /** Stops agents, aggregator and simulator, and removes the temporary state. */
  stop(): Promise<void>;
}

export async function startLocalCluster(opts: {
  scenario: string;
  speed: number;
  logger: Logger;
  aggregator?: Partial<AggregatorConfig>;
  agent?: Partial<AgentConfig>;
  /** Multiplies every simulated workload's log rate (default 1). */
  logVolume?: number;
}): Promise<LocalCluster> {
  const { logger } = opts;
  const work = mkdtempSync(join(tmpdir(), 'vigil-local-'));
  const sim = await startSimulator({
    scenario: opts.scenario,
    root: join(work, 'cluster'),
    speed: opts.speed,
    logger: logger.child({ component: 'sim' }),
    ...(opts.logVolume !== undefined ? { logVolume: opts.logVolume } : {}),
  });
  const faults: FaultEvent[] = [];
  sim.events.on('fault', (f: FaultEvent) => faults.push(f));
  const aggregator = await startAggregator(
    {
      ...loadConfig(aggregatorSettings, { section: 'aggregator' }),
      grpcHost: '127.0.0.1',
      grpcPort: 0,
      httpPort: 0,
      stateDir: join(work, 'aggregator'),
      kubeconfig: sim.kubeconfigPath,
      ...opts.aggregator,
    },
    logger.child({ component: 'aggregator' }),
  );
  // Agents start together: started one by one they take seconds each on a loaded machine, and the scenario's
  // clock is already running.
  const agents: Agent[] = await Promise.all(
    sim.nodes.map((node) =>
      startAgent(
        {
          ...loadConfig(agentSettings, { section: 'agent' }),
          node,
          aggregator: `127.0.0.1:${aggregator.grpcPort}`,
          stateDir: join(work, 'agents', node),
          hostRoot: sim.nodeRoot(node),
          kubeconfig: sim.kubeconfigPath,
          httpPort: 0,
          procScanSeconds: 0, // the simulated nodes have no processes of their own; this host's are not theirs
          ...opts.agent,
        },
        logger.child({ component: 'agent', node }),
      ),
    ),
  );
  return {
    sim,
    aggregator,
    agents,
    faults,
    async stop() {
      for (const a of agents) await a.stop();
      await aggregator.stop();
      await sim.stop();
      rmSync(work, { recursive: true, force: true });
    },
  };
}
