// The per-node agent: sources feed a window; every window becomes one summary in the LMDB outbox, and the
// gateway connection streams the outbox to the aggregator.
import { randomUUID } from 'node:crypto';
import { join } from 'node:path';
import { create, toBinary } from '@bufbuild/protobuf';
import { Counter, collectDefaultMetrics, Gauge, Registry } from 'prom-client';
import { channelCredentials } from '../common/grpc/credentials.ts';
import { type HealthServer, startHealthServer } from '../common/http/health-server.ts';
import type { Logger } from '../common/log.ts';
import type { Signal } from '../common/signal.ts';
import { signalToWire } from '../common/signal-wire.ts';
import { openLmdb } from '../common/store/lmdb.ts';
import { VERSION } from '../common/version.ts';
import { SummarySchema } from '../proto/gen/vigil/v1/summary_pb.js';
import { type DropStats, Outbox } from './buffer/outbox.ts';
import { startDetectionThread } from './detect/detection-thread.ts';
import { metricWorkerData } from './detect/metrics/pool.ts';
import { startSecurityDetectors } from './detect/security/security-detectors.ts';
import { KubeConnection } from './kube-api/connection.ts';
import { loadKubeTarget } from './kube-api/target.ts';
import { LogPipeline, type LogWindow } from './pipeline/log-pipeline.ts';
import { MetricPipeline } from './pipeline/metric-pipeline.ts';
import { CommandExecutor } from './remediate/command-executor.ts';
import type { AgentConfig } from './settings.ts';
import { KubeWatcher } from './sources/kube/kube-watcher.ts';
import { createMetricCollector } from './sources/metrics/collector.ts';
import { nodeInventory } from './sources/node/inventory.ts';
import { dictionaryEpochs } from './summarize/dictionary-epoch.ts';
import { DigestAccumulator } from './summarize/digest.ts';
import { SummaryDictionary } from './summarize/summary-dictionary.ts';
import { GatewayConnection } from './transport/gateway-connection.ts';

/** Signals beyond this many in one window are counted, not shipped: a detector storm must not flood the wire. */
const MAX_SIGNALS_PER_WINDOW = 500;

export interface Agent {
  readonly outbox: Outbox;
  readonly connection: GatewayConnection;
  readonly httpPort: number;
  readonly digests: DigestAccumulator;
  /** This node's pods and node object, when the Kubernetes API is reachable. */
  readonly kube: KubeWatcher | undefined;
  /** The log pipeline, when logs are on. */
  readonly logs: LogPipeline | undefined;
  /** Queues a signal for the current window. */
  emit(signal: Signal): void;
  /** Closes the current window now; resolves to the new batch's sequence. */
  closeWindow(): Promise<number>;
  /** Flushes the last window, tries to deliver for the grace period, then closes everything. */
  stop(): Promise<void>;
}

export async function startAgent(config: AgentConfig, logger: Logger): Promise<Agent> {
  const registry = new Registry();
  collectDefaultMetrics({ register: registry, prefix: 'vigil_agent_' });
  const store = openLmdb(join(config.stateDir, 'agent.mdb'), logger);
  const outbox = new Outbox(store.root, { maxBytes: config.outboxMaxBytes, logger });
  // Log mining and metric detection share one worker thread (detection-thread.ts): one V8 isolate less.
  const forecastStepMs = config.metricForecastStepSeconds * 1000;
  const detectionThread =
    config.metricDetection && config.logs
      ? startDetectionThread(metricWorkerData({ forecast: { stepMs: forecastStepMs } }))
      : undefined;
  const onDetectionThread = (name: 'logs' | 'metrics') => ({ piscina: detectionThread!, name, owned: false });
  const detection = config.metricDetection
    ? new MetricPipeline({
        node: config.node,
        emit: (s) => emit(s),
        logger,
        forecastStepMs,
        ...(detectionThread ? { thread: onDetectionThread('metrics') } : {}),
        // Learned models survive restarts (restored before the first sample; saved on stop below).
        ...(config.metricModelsSaveSeconds > 0
          ? { models: { root: store.root, saveIntervalMs: config.metricModelsSaveSeconds * 1000 } }
          : {}),
      })
    : undefined;
  const digests = new DigestAccumulator(
    detection ? (k, n, v, m) => detection.observe(k, n, v, m) : undefined,
  );
  const collector = config.systemMetrics
    ? createMetricCollector({ hostRoot: config.hostRoot, node: config.node, logger })
    : undefined;
  // Series and log-stream identities go once per epoch; digests by ref, packed (docs/summaries.md).
  const nextEpoch = dictionaryEpochs(store.root);
  const dictionary = new SummaryDictionary({ epoch: nextEpoch(), nextEpoch });
  let pendingSignals: Signal[] = [];
  const counters: Record<string, number> = {};
  if (store.recoveredFrom) counters['state.corrupt_store_recovered'] = 1;
  let windowStart = Date.now();

  const metrics = {
    batches: new Counter({
      name: 'vigil_agent_batches_total',
      help: 'Summaries written to the outbox',
      registers: [registry],
    }),
    acked: new Counter({
      name: 'vigil_agent_acked_total',
      help: 'Batches the aggregator acked',
      registers: [registry],
    }),
    rejected: new Counter({
      name: 'vigil_agent_rejected_total',
      help: 'Batches the aggregator rejected',
      registers: [registry],
    }),
    reconnects: new Counter({
      name: 'vigil_agent_disconnects_total',
      help: 'Aggregator connections lost',
      registers: [registry],
    }),
    signalsDropped: new Counter({
      name: 'vigil_agent_signals_overflow_total',
      help: 'Signals counted but not shipped because a window had too many',
      registers: [registry],
    }),
  };
  new Gauge({
    name: 'vigil_agent_outbox_bytes',
    help: 'Bytes held in the outbox',
    registers: [registry],
    collect() {
      this.set(outbox.bytes);
    },
  });
  new Gauge({
    name: 'vigil_agent_outbox_batches',
    help: 'Batches held in the outbox, unacked',
    registers: [registry],
    collect() {
      this.set(outbox.count);
    },
  });
  new Gauge({
    name: 'vigil_agent_outbox_dropped_batches',
    help: 'Batches dropped unsent because the outbox was full (lifetime of the state dir)',
    registers: [registry],
    collect() {
      this.set(outbox.drops.droppedBatches);
    },
  });
  new Gauge({
    name: 'vigil_agent_connected',
    help: '1 while connected to the aggregator',
    registers: [registry],
    collect() {
      this.set(connection.connected ? 1 : 0);
    },
  });

  const connection = new GatewayConnection({
    address: config.aggregator,
    credentials: channelCredentials(config),
    node: config.node,
    agentVersion: VERSION,
    instanceId: randomUUID(),
    info: await nodeInventory(),
    outbox,
    logger,
    onCommand: (command) => commands.handle(command),
    onEvent: (e) => {
      if (e.type === 'acked') metrics.acked.inc();
      else if (e.type === 'rejected') {
        metrics.rejected.inc();
        dictionary.refused(e.seq);
      } else if (e.type === 'disconnected') metrics.reconnects.inc();
      else if (e.type === 'connected' && e.renumbered > 0) {
        // Carriers of definitions were numbered before the move; define everything again rather than trust them.
        dictionary.restart();
      } else if (e.type === 'connected' && e.aggregatorLastSeq < outbox.ackedSeq) {
        // The aggregator holds less than it acked: it lost its state, dictionary included. Start over.
        logger.warn(
          { aggregatorLastSeq: e.aggregatorLastSeq, ackedSeq: outbox.ackedSeq },
          'aggregator lost state; summary dictionary starts a new epoch',
        );
        dictionary.restart();
      }
    },
  });

  function encode(drops: DropStats, logWindow: LogWindow | undefined): Uint8Array {
    const end = Date.now();
    const signals = pendingSignals;
    pendingSignals = [];
    const packed = dictionary.pack(digests.drain(), logWindow?.logs ?? [], {
      seq: outbox.nextSeq,
      ackedSeq: outbox.ackedSeq,
      lastDroppedSeq: drops.lastDroppedSeq,
    });
    const summary = create(SummarySchema, {
      node: config.node,
      windowStartMs: BigInt(windowStart),
      windowEndMs: BigInt(end),
      ...packed,
      rawBytesRead: BigInt(logWindow?.rawBytes ?? 0),
      signals: signals.map(signalToWire),
      drops: {
        droppedBatches: BigInt(drops.droppedBatches),
        droppedBytes: BigInt(drops.droppedBytes),
        firstDroppedSeq: BigInt(drops.firstDroppedSeq),
        lastDroppedSeq: BigInt(drops.lastDroppedSeq),
        counters: Object.fromEntries(Object.entries(counters).map(([k, v]) => [k, BigInt(v)])),
      },
    });
    windowStart = end;
    return toBinary(SummarySchema, summary);
  }

  // Windows close one at a time, in order, even if a close is slow.
  let windowChain: Promise<number> = Promise.resolve(0);
  function closeWindow(): Promise<number> {
    // A failed window must not poison the ones after it.
    windowChain = windowChain
      .catch(() => 0)
      .then(async () => {
        // The log window first: its signals join this batch, and its offsets commit with it.
        const logWindow = await logs?.closeWindow();
        const hasSignals = pendingSignals.length > 0;
        const seq = await outbox.append((drops) => encode(drops, logWindow), {
          value: hasSignals ? 'high' : 'low',
          ...(logWindow ? { alsoWrite: logWindow.alsoWrite } : {}),
        });
        metrics.batches.inc();
        connection.notify();
        return seq;
      });
    return windowChain;
  }

  const kubeTarget = loadKubeTarget(config.kubeconfig, logger);
  const kubeApi = kubeTarget ? new KubeConnection(kubeTarget) : undefined;
  const kube = kubeApi
    ? new KubeWatcher({ api: kubeApi, node: config.node, emit: (s) => emit(s), logger })
    : undefined;
  kube
    ?.start()
    .catch((error: unknown) => logger.warn({ err: error }, 'Kubernetes watch did not start; retrying'));

  const commands = new CommandExecutor({
    root: store.root,
    node: config.node,
    hostRoot: config.hostRoot,
    logger,
    ...(kubeApi ? { kube: kubeApi } : {}),
    livePodUids: () => kube?.liveUids(),
    containerId: (ns, pod, container) => kube?.containerIdOf(ns, pod, container),
    allowProcessKill: config.allowProcessKill,
  });

  // Shipped and user rules (hot-reloaded), auth/audit detectors for the log pipeline, and the /proc scanner.
  const security = config.security
    ? startSecurityDetectors({
        node: config.node,
        hostRoot: config.hostRoot,
        rulePaths: config.rulePaths,
        procIntervalMs: config.procScanSeconds * 1000,
        resolveContainer: (id) => kube?.podByContainerId(id),
        onSignals: (signals) => {
          for (const s of signals) emit(s);
        },
        logger,
      })
    : undefined;
  const logs = config.logs
    ? await LogPipeline.open({
        root: store.root,
        hostRoot: config.hostRoot,
        node: config.node,
        logger,
        emit: (s) => emit(s),
        podMeta: (uid) => kube?.podByUid(uid),
        ...(security ? { security } : {}),
        warmupWindows: Math.ceil(config.logWarmupSeconds / config.windowSeconds),
        ...(detectionThread ? { miningThread: onDetectionThread('logs') } : {}),
      })
    : undefined;
  logs?.start();

  function emit(signal: Signal): void {
    if (pendingSignals.length >= MAX_SIGNALS_PER_WINDOW) {
      counters['signals.overflow'] = (counters['signals.overflow'] ?? 0) + 1;
      metrics.signalsDropped.inc();
      return;
    }
    pendingSignals.push(signal);
  }

  // Node and container metrics from <hostRoot>: synchronous file reads of a few ms, straight into the window.
  // Timers start last, once every source they drive exists.
  const fastTimer = setInterval(() => {
    try {
      collector?.sample(digests);
      void detection?.flush();
    } catch (error) {
      logger.warn({ err: error }, 'sampling failed');
    }
  }, config.metricsIntervalSeconds * 1000);
  // Command results are remembered a day for idempotency; older ones go.
  const pruneCommands = () =>
    commands
      .prune()
      .catch((error: unknown) => logger.warn({ err: error }, 'could not prune command results'));
  void pruneCommands();
  const commandPruneTimer = setInterval(pruneCommands, 3_600_000);
  commandPruneTimer.unref();
  const windowTimer = setInterval(() => {
    closeWindow().catch((error: unknown) =>
      logger.error({ err: error }, 'could not store the window summary'),
    );
  }, config.windowSeconds * 1000);

  const health: HealthServer = await startHealthServer({
    port: config.httpPort,
    registry,
    readiness: () => ({ ready: true }),
    logger,
  });
  connection.start();
  logger.info(
    { node: config.node, aggregator: config.aggregator, stateDir: config.stateDir, pending: outbox.count },
    'agent started',
  );

  let stopping: Promise<void> | undefined;
  return {
    outbox,
    connection,
    digests,
    httpPort: health.port,
    kube,
    logs,
    emit,
    closeWindow,
    stop() {
      stopping ??= (async () => {
        clearInterval(fastTimer);
        clearInterval(windowTimer);
        clearInterval(commandPruneTimer);
        collector?.close();
        await detection?.close();
        await kube?.stop();
        kubeApi?.close();
        await closeWindow();
        await logs?.stop();
        await detectionThread?.destroy(); // after both pipelines that use it
        security?.close();
        const delivered = await connection.drain(config.shutdownGraceSeconds * 1000);
        logger.info(
          { delivered, pending: outbox.count },
          'agent stopping; undelivered batches stay in the outbox',
        );
        await connection.stop();
        await health.close();
        await store.root.close();
      })();
      return stopping;
    },
  };
}
