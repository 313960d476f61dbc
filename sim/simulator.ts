// The simulator as a library: starts the API server, the controllers, the node views and the scenario
// engine on one batched timer. The demo, end-to-end tests, benchmarks and the `sim` CLI import this.
import { EventEmitter } from 'node:events';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Logger } from '../common/log.ts';
import { writeKubeconfig } from './api/kubeconfig.ts';
import { type ApiServer, type AuditRecord, startApiServer } from './api/server.ts';
import { Store } from './api/store.ts';
import type { Pod } from './api/types.ts';
import { createClock, type SimClock } from './clock.ts';
import { bootstrapCluster } from './cluster.ts';
import { EventRecorder } from './controllers/events.ts';
import { ControllerManager } from './controllers/manager.ts';
import { parseQuantity, RuntimeRegistry } from './controllers/runtime.ts';
import { AtomicWriter } from './node/atomic.ts';
import { CriLogWriter, containerLogPath, podLogDir } from './node/cri-log.ts';
import { AuditLog, AuthLog } from './node/host-logs.ts';
import { NodeMetricsWriter } from './node/metrics.ts';
import type { NodeModel } from './node/model.ts';
import { createRandom } from './random.ts';
import { ScenarioEngine } from './scenario/engine.ts';
import { type FaultEvent, FaultRunner } from './scenario/faults.ts';
import { loadScenario } from './scenario/load.ts';
import type { Scenario } from './scenario/schema.ts';
import { buildNodeModels, createTopology } from './scenario/topology.ts';

export type { FaultEvent };

export interface SimulatorOptions {
  /** A built-in scenario name, a path to a YAML file, or an already parsed scenario. */
  scenario: string | Scenario;
  /** Directory that receives one `<node>/` tree per node; a temporary directory when omitted. */
  root?: string;
  /** API port on 127.0.0.1; 0 (default) picks a free one. */
  port?: number;
  /** Simulated seconds per real second (default 1). */
  speed?: number;
  logger: Logger;
  /** Where to write the kubeconfig (default `<root>/kubeconfig`). */
  kubeconfigPath?: string;
  /** Multiplies every workload's log rates, for benchmarks at production-like volumes (default 1). */
  logVolume?: number;
  /** Real ms between controller ticks (default 250). */
  tickMs?: number;
  /** Real ms between watch bookmarks (default 10 000). */
  bookmarkIntervalMs?: number;
  /** Watch history kept for resumption; older resourceVersions get 410 Gone (default 5000 events). */
  watchHistorySize?: number;
  /**
   * Hold the scenario's faults until `releaseFaults()` (default false: the fault timeline starts with the
   * simulator). The live demo releases them once every agent is connected and has learned its node's normal.
   */
  holdFaults?: boolean;
}

export interface GroundTruth {
  rootCause: { kind: string; object: string };
  /** Simulated seconds after start. */
  startsAt: number;
}

export interface Simulator {
  url: string;
  kubeconfigPath: string;
  root: string;
  nodes: string[];
  controlPlaneNodes: string[];
  nodeRoot(node: string): string;
  scenario: Scenario;
  groundTruth: GroundTruth;
  /** 'fault' → FaultEvent. */
  events: EventEmitter;
  store: Store;
  clock: SimClock;
  models: ReadonlyMap<string, NodeModel>;
  /** Ends all open watches (clients must resume, possibly into 410 Gone). Returns how many were open. */
  dropWatches(): number;
  /** Starts a held fault timeline now (no-op when faults were not held or already released). */
  releaseFaults(): void;
  /** Simulated ms at which the fault timeline started (0 unless held), or null while it is held. */
  faultsOrigin(): number | null;
  /** Counters for benchmarks. */
  stats(): {
    logLines: number;
    logBytes: number;
    rotations: number;
    objects: number;
    resourceVersion: number;
  };
  stop(): Promise<void>;
}

const METRICS_INTERVAL_MS = 1000;
const POD_DIR_GC_MS = 60_000;

export async function startSimulator(options: SimulatorOptions): Promise<Simulator> {
  const scenario = typeof options.scenario === 'string' ? loadScenario(options.scenario) : options.scenario;
  const logger = options.logger;
  const root = options.root ?? mkdtempSync(join(tmpdir(), 'vigil-sim-'));
  mkdirSync(root, { recursive: true });
  const random = createRandom(scenario.seed);
  const clock = createClock(options.speed ?? 1);
  const store = new Store({ random, historySize: options.watchHistorySize ?? 5000 });
  const models = buildNodeModels(scenario);
  const modelMap = new Map(models.map((m) => [m.name, m]));
  bootstrapCluster(store, models, scenario.namespaces, clock.wallMs());
  createTopology(store, scenario);

  const nodeRoot = (node: string): string => join(root, node);
  const atomic = new AtomicWriter();
  const writers = new Map<string, CriLogWriter>();
  const authLogs = new Map<string, AuthLog>();
  const metrics = new Map<string, NodeMetricsWriter>();
  for (const m of models) {
    // A fresh cluster gets fresh node trees: a reused root must not carry logs of an earlier run
    // (same seed, same uids, same file names).
    rmSync(nodeRoot(m.name), { recursive: true, force: true });
    mkdirSync(join(nodeRoot(m.name), 'var', 'log', 'pods'), { recursive: true });
    writers.set(
      m.name,
      new CriLogWriter(nodeRoot(m.name), {
        maxBytes: parseQuantity(scenario.cluster.logRotateBytes) ?? 10 * 2 ** 20,
        maxFiles: scenario.cluster.logMaxFiles,
      }),
    );
    authLogs.set(m.name, new AuthLog(nodeRoot(m.name), m.name, random));
    metrics.set(m.name, new NodeMetricsWriter(nodeRoot(m.name), m, atomic, clock.wallMs()));
  }
  const controlPlane = models.filter((m) => m.role === 'control-plane').map((m) => m.name);
  const auditLog = controlPlane[0] ? new AuditLog(nodeRoot(controlPlane[0]), random) : undefined;
  const audit = (record: AuditRecord): void => auditLog?.write(record);

  const emitter = new EventEmitter();
  const runtimes = new RuntimeRegistry();
  const faults = new FaultRunner(
    {
      scenario,
      store,
      clock,
      random,
      nodes: modelMap,
      authLogs,
      audit,
      emitter,
      logger,
    },
    options.holdFaults === true,
  );
  const engine = new ScenarioEngine({
    scenario,
    store,
    clock,
    random,
    runtimes,
    faults,
    nodes: modelMap,
    writers,
    ...(options.logVolume !== undefined ? { logVolume: options.logVolume } : {}),
  });
  const events = new EventRecorder(store, clock);
  const manager = new ControllerManager({
    store,
    clock,
    random,
    events,
    runtimes,
    behaviours: engine,
    nodes: models,
    logger,
    lifecycle: {
      gracePeriodMs: scenario.cluster.nodeMonitorGracePeriodSeconds * 1000,
      podEvictionTimeoutMs: scenario.cluster.podEvictionTimeoutSeconds * 1000,
    },
    onTermination: (pod, container, reason) => {
      engine.writeCrash(pod, container, reason);
      if (reason === 'OOMKilled') faults.notifyOomKill(pod.uid);
    },
  });

  const server: ApiServer = await startApiServer({
    store,
    logger,
    port: options.port ?? 0,
    bookmarkIntervalMs: options.bookmarkIntervalMs ?? 10_000,
    hooks: {
      audit,
      podLog: (pod: Pod, container, opts) => {
        const rt = runtimes.get(pod.metadata.uid ?? '');
        const c = rt?.containers.find((x) => x.name === container);
        if (!rt || !c) return undefined;
        const restartCount = opts.previous ? c.restartCount - 1 : c.restartCount;
        const path = containerLogPath(nodeRoot(rt.node), {
          namespace: rt.namespace,
          pod: rt.name,
          uid: rt.uid,
          container,
          restartCount,
          containerId: c.id,
        });
        if (!existsSync(path)) return restartCount < 0 ? undefined : '';
        let lines = readFileSync(path, 'utf8')
          .split('\n')
          .filter((l) => l.length > 0)
          .map((l) => l.split(' ').slice(3).join(' '));
        if (opts.tailLines !== undefined) lines = lines.slice(-opts.tailLines);
        return lines.length ? `${lines.join('\n')}\n` : '';
      },
    },
  });
  const kubeconfigPath = writeKubeconfig({
    server: server.url,
    path: options.kubeconfigPath ?? join(root, 'kubeconfig'),
  });

  // Background host-log noise so security detectors see a baseline, not silence.
  for (const m of models) authLogs.get(m.name)?.acceptedPassword(clock.wallMs(), 'ubuntu', '10.0.0.2');

  let lastMetricsWall = 0;
  let lastMetricsSim = clock.elapsedMs();
  let lastCronSim = -Infinity;
  const podDirsToRemove = new Map<string, { node: string; dir: string; atWall: number }>();
  const knownPods = new Map<string, { node: string; dir: string }>();
  let logBytesBase = 0;

  const tick = (): void => {
    faults.tick();
    manager.tick();
    engine.tick();
    const wall = clock.wallMs();
    const sim = clock.elapsedMs();
    if (wall - lastMetricsWall >= METRICS_INTERVAL_MS) {
      const dtS = (sim - lastMetricsSim) / 1000;
      lastMetricsWall = wall;
      lastMetricsSim = sim;
      for (const m of models) {
        const diskRate = faults.active.some(
          (a) => !a.done && a.fault.kind === 'disk_fill' && a.fault.target === `Node/${m.name}`,
        )
          ? 200 * 2 ** 20
          : 0;
        metrics.get(m.name)?.write(runtimes.onNode(m.name), dtS, diskRate);
      }
    }
    if (sim - lastCronSim >= 60_000) {
      lastCronSim = sim;
      for (const m of models) if (!m.kubeletStopped) authLogs.get(m.name)?.cronSession(wall);
    }
    // Pod directories outlive their pod for a while, as the kubelet's GC is lazy too.
    const current = new Set<string>();
    for (const rt of runtimes.all()) {
      current.add(rt.uid);
      if (!knownPods.has(rt.uid))
        knownPods.set(rt.uid, {
          node: rt.node,
          dir: podLogDir(nodeRoot(rt.node), { namespace: rt.namespace, pod: rt.name, uid: rt.uid }),
        });
    }
    for (const [uid, info] of knownPods) {
      if (current.has(uid)) continue;
      knownPods.delete(uid);
      writers.get(info.node)?.closePod(uid);
      podDirsToRemove.set(uid, { ...info, atWall: wall + POD_DIR_GC_MS });
    }
    for (const [uid, info] of podDirsToRemove) {
      if (info.atWall > wall) continue;
      void rm(info.dir, { recursive: true, force: true });
      podDirsToRemove.delete(uid);
    }
  };
  tick();
  const timer = setInterval(() => {
    try {
      tick();
    } catch (err) {
      logger.error({ err }, 'sim tick failed');
    }
  }, options.tickMs ?? 250);

  logger.info(
    {
      url: server.url,
      kubeconfig: kubeconfigPath,
      scenario: scenario.name,
      speed: clock.speed,
      nodes: Object.fromEntries(models.map((m) => [m.name, nodeRoot(m.name)])),
    },
    'sim started',
  );

  let stopped = false;
  return {
    url: server.url,
    kubeconfigPath,
    root,
    nodes: models.map((m) => m.name),
    controlPlaneNodes: controlPlane,
    nodeRoot,
    scenario,
    groundTruth: scenario.groundTruth,
    events: emitter,
    store,
    clock,
    models: modelMap,
    dropWatches: () => server.dropWatches(),
    releaseFaults: () => faults.release(),
    faultsOrigin: () => faults.origin,
    stats: () => {
      let bytes = logBytesBase;
      let rotations = 0;
      for (const w of writers.values()) {
        bytes += w.bytesWritten;
        rotations += w.rotations;
      }
      return {
        logLines: engine.linesWritten,
        logBytes: bytes,
        rotations,
        objects: store.size(),
        resourceVersion: store.currentVersion(),
      };
    },
    stop: async () => {
      if (stopped) return;
      stopped = true;
      clearInterval(timer);
      await server.close();
      await atomic.idle();
      for (const w of writers.values()) w.close();
      logBytesBase = 0;
      logger.info({ scenario: scenario.name }, 'sim stopped');
    },
  };
}
