// An aggregator and agents in this process (real gRPC on loopback, real LMDB in temp dirs) for tests that
// need to reach inside: feed a window, read the registry.
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pino } from 'pino';
import { type Agent, startAgent } from '../../agent/agent.ts';
import { type AgentConfig, agentSettings } from '../../agent/settings.ts';
import { type Aggregator, startAggregator } from '../../aggregator/aggregator.ts';
import { type AggregatorConfig, aggregatorSettings } from '../../aggregator/settings.ts';
import { loadConfig } from '../../common/config/settings.ts';

export const quietLogger = pino({ level: process.env['VIGIL_TEST_LOG'] ?? 'silent' });

export function tempDir(name: string): string {
  return mkdtempSync(join(tmpdir(), `vigil-${name}-`));
}

export function aggregatorConfig(overrides: Partial<AggregatorConfig> = {}): AggregatorConfig {
  return {
    ...loadConfig(aggregatorSettings, { section: 'aggregator' }),
    grpcHost: '127.0.0.1',
    grpcPort: 0,
    httpPort: 0,
    stateDir: tempDir('agg'),
    ...overrides,
  };
}

export function agentConfig(
  node: string,
  aggregatorPort: number,
  overrides: Partial<AgentConfig> = {},
): AgentConfig {
  return {
    ...loadConfig(agentSettings, { section: 'agent' }),
    node,
    aggregator: `127.0.0.1:${aggregatorPort}`,
    stateDir: tempDir(`agent-${node}`),
    httpPort: 0,
    windowSeconds: 3600, // tests close windows themselves
    systemMetrics: false,
    shutdownGraceSeconds: 5,
    ...overrides,
  };
}

export function inProcessAggregator(overrides: Partial<AggregatorConfig> = {}): Promise<Aggregator> {
  return startAggregator(aggregatorConfig(overrides), quietLogger);
}

export function inProcessAgent(config: AgentConfig): Promise<Agent> {
  return startAgent(config, quietLogger);
}
