// The aggregator process: gRPC server (agent gateway + integration API), node registry, LMDB store, and
// the health/metrics endpoint.

import { join } from 'node:path';
import * as grpc from '@grpc/grpc-js';
import { Counter, collectDefaultMetrics, Gauge, Registry } from 'prom-client';
import { addService } from '../common/grpc/adapter.ts';
import { serverCredentials } from '../common/grpc/credentials.ts';
import { type HealthServer, startHealthServer } from '../common/http/health-server.ts';
import type { Logger } from '../common/log.ts';
import { AgentGatewayService } from '../proto/gen/vigil/v1/gateway_pb.js';
import { IncidentService } from '../proto/gen/vigil/v1/incidents_pb.js';
import { IntegrationService } from '../proto/gen/vigil/v1/integration_pb.js';
import { incidentHandlers } from './api/incidents.ts';
import { integrationHandlers } from './api/integration.ts';
import { createIncidentEngine, type IncidentEngine } from './correlate/engine.ts';
import { gatewayHandlers } from './ingest/gateway.ts';
import { createGatewayMetrics } from './ingest/gateway-metrics.ts';
import { loadKubeConfig } from './kube/config.ts';
import { Notifier } from './notify/notifier.ts';
import { parseNotifyTargets } from './notify/targets.ts';
import { createAgentChannel } from './remediate/agent-channel.ts';
import { KubeExecutor } from './remediate/kube-executor.ts';
import { loadPolicy } from './remediate/policy.ts';
import { VulnerabilityIndex } from './security/vulnerability-index.ts';
import type { AggregatorConfig } from './settings.ts';
import { EmptyTopology } from './state/empty-topology.ts';
import { KubeTopology } from './state/kube-topology.ts';
import { NodeRegistry } from './state/node-registry.ts';
import { AggregatorStore } from './store/aggregator-store.ts';
import { IncidentStore } from './store/incident-store.ts';
import { replayStoredSummaries } from './store/summary-replay.ts';

export interface Aggregator {
  readonly grpcPort: number;
  readonly httpPort: number;
  readonly registry: NodeRegistry;
  readonly store: AggregatorStore;
  /** The cluster as seen through the Kubernetes API, when one is reachable. */
  readonly topology: KubeTopology | undefined;
  readonly incidents: IncidentEngine;
  stop(): Promise<void>;
}

export async function startAggregator(config: AggregatorConfig, logger: Logger): Promise<Aggregator> {
  const metricsRegistry = new Registry();
  collectDefaultMetrics({ register: metricsRegistry, prefix: 'vigil_aggregator_' });
  const store = new AggregatorStore(config.stateDir, logger, { retainSummaries: config.retainSummaries });
  const registry = new NodeRegistry(store.loadNodes());
  const gatewayMetrics = createGatewayMetrics(metricsRegistry);
  new Gauge({
    name: 'vigil_aggregator_connected_agents',
    help: 'Agents with a live stream',
    registers: [metricsRegistry],
    collect() {
      this.set(registry.connectedCount);
    },
  });
  new Gauge({
    name: 'vigil_aggregator_known_nodes',
    help: 'Nodes the aggregator has a record of',
    registers: [metricsRegistry],
    collect() {
      this.set(registry.all().length);
    },
  });
  const watchSkipped = new Counter({
    name: 'vigil_aggregator_watch_events_skipped_total',
    help: 'Watch events not sent to a client whose stream was full',
    registers: [metricsRegistry],
  });
  const malformedApi = new Counter({
    name: 'vigil_aggregator_malformed_requests_total',
    help: 'Integration API requests that did not decode',
    registers: [metricsRegistry],
  });

  const kc = loadKubeConfig(config.kubeconfig, logger);
  const topology = kc ? new KubeTopology(kc, logger) : undefined;
  topology
    ?.start()
    .catch((error: unknown) => logger.warn({ err: error }, 'Kubernetes informers did not start; retrying'));

  const emptyTopology = new EmptyTopology();
  // Incidents: correlation, root cause, remediation (Kubernetes actions and agent commands), notifications.
  const channel = createAgentChannel();
  const incidents = createIncidentEngine({
    topology: topology ?? emptyTopology,
    logger: logger.child({ component: 'incidents' }),
    ...(config.policyFile ? { policy: loadPolicy(config.policyFile) } : {}),
    ...(kc ? { kube: new KubeExecutor(kc) } : {}),
    sendToAgent: channel.sendToAgent,
    ...(config.notify
      ? {
          notifier: new Notifier({
            targets: parseNotifyTargets(config.notify),
            logger: logger.child({ component: 'notify' }),
            externalURL: config.externalUrl,
          }),
        }
      : {}),
    correlation: {
      windowMs: config.incidentWindowSeconds * 1000,
      quietMs: config.incidentQuietSeconds * 1000,
    },
    auditFile: join(config.stateDir, 'audit.jsonl'),
    // Incidents, actions and guardrails outlive a restart; restored here, before any summary is ingested.
    store: new IncidentStore(store.root, logger.child({ component: 'incident-store' })),
  });
  replayStoredSummaries(
    store,
    incidents,
    registry.all().map((n) => n.record.node),
    logger.child({ component: 'incidents' }),
  );
  registry.on('summary', (node, seq, summary) => incidents.ingest(node, summary, seq));
  // Scanner reports (Trivy) joined to the pods running those images; new rollouts of vulnerable images.
  const vulnerabilities = new VulnerabilityIndex();
  const incidentTopology = topology ?? emptyTopology;
  let ticks = 0;
  const ticker = setInterval(() => {
    incidents.tick();
    if (++ticks % 5 === 0) {
      const found = vulnerabilities.checkNewRollouts(incidentTopology, Date.now() - 60_000);
      if (found.length > 0) incidents.ingestSignals(found);
    }
  }, 1000);

  const server = new grpc.Server({
    'grpc.max_receive_message_length': config.maxBatchBytes + 64 * 1024,
    'grpc.keepalive_time_ms': 60_000,
    'grpc.keepalive_permit_without_calls': 1,
  });
  addService(
    server,
    AgentGatewayService,
    gatewayHandlers({
      registry,
      store,
      logger,
      metrics: gatewayMetrics,
      maxBatchBytes: config.maxBatchBytes,
      onSession: channel.onSession,
      onCommandResult: channel.onCommandResult,
    }),
  );
  addService(server, IntegrationService, integrationHandlers({ registry, watchSkipped }), {
    onMalformed: () => malformedApi.inc(),
  });
  addService(
    server,
    IncidentService,
    incidentHandlers(incidents, Date.now, { index: vulnerabilities, topology: incidentTopology }),
    {
      onMalformed: () => malformedApi.inc(),
    },
  );
  const grpcPort = await new Promise<number>((resolve, reject) =>
    server.bindAsync(`${config.grpcHost}:${config.grpcPort}`, serverCredentials(config), (err, port) =>
      err ? reject(err) : resolve(port),
    ),
  );
  let serving = true;
  const health: HealthServer = await startHealthServer({
    port: config.httpPort,
    registry: metricsRegistry,
    readiness: () => (serving ? { ready: true } : { ready: false, reason: 'shutting down' }),
    logger,
  });
  logger.info({ grpcPort, httpPort: health.port, nodes: registry.all().length }, 'aggregator started');

  let stopping: Promise<void> | undefined;
  return {
    grpcPort,
    httpPort: health.port,
    registry,
    store,
    topology,
    incidents,
    stop() {
      stopping ??= (async () => {
        serving = false;
        clearInterval(ticker);
        await incidents.idle();
        await incidents.flush();
        incidents.stop();
        // Finish in-flight calls for a moment, then cut the streams (agents reconnect elsewhere or later).
        await new Promise<void>((resolve) => {
          const timer = setTimeout(() => {
            server.forceShutdown();
            resolve();
          }, 2000);
          server.tryShutdown(() => {
            clearTimeout(timer);
            resolve();
          });
        });
        await topology?.stop();
        await health.close();
        // What the last API calls and summaries changed while the server wound down, then LMDB closes.
        await incidents.idle();
        await incidents.flush();
        await store.close();
        logger.info('aggregator stopped');
      })();
      return stopping;
    },
  };
}
