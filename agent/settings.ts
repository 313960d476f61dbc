import { hostname } from 'node:os';
import { z } from 'zod';
import { boolean, bytes, type ConfigOf, number, setting } from '../common/config/settings.ts';
import { kubeconfigSetting, logLevelSetting } from '../common/config/shared-settings.ts';

/** Every agent setting: flag › env › file (`agent:` section) › default. */
export const agentSettings = {
  node: setting({
    flag: 'node',
    env: 'VIGIL_NODE_NAME',
    description: "This node's name (the chart sets it from spec.nodeName)",
    schema: z.string().min(1).max(253),
    default: hostname(),
    defaultText: 'the host name',
  }),
  aggregator: setting({
    flag: 'aggregator',
    env: 'VIGIL_AGGREGATOR',
    description: "The aggregator's gRPC address, host:port",
    schema: z.string().regex(/^[^\s:]+:\d{1,5}$/, 'expected host:port'),
    default: 'localhost:7400',
  }),
  hostRoot: setting({
    flag: 'host-root',
    env: 'VIGIL_HOST_ROOT',
    description: 'Where the host filesystem is mounted; sources read proc/, sys/ and var/log/ below it',
    schema: z.string().min(1),
    default: '/',
  }),
  stateDir: setting({
    flag: 'state-dir',
    env: 'VIGIL_STATE_DIR',
    description: 'Directory of the LMDB state (outbox, checkpoints)',
    schema: z.string().min(1),
    default: '/var/lib/vigil',
  }),
  windowSeconds: setting({
    flag: 'window-seconds',
    env: 'VIGIL_WINDOW_SECONDS',
    description: 'Length of one summary window',
    schema: number().positive().max(3600),
    default: 10,
  }),
  outboxMaxBytes: setting({
    flag: 'outbox-max-bytes',
    env: 'VIGIL_OUTBOX_MAX_BYTES',
    description: 'Outbox size cap; past it the oldest low-value batches are dropped and reported',
    schema: bytes().pipe(z.number().min(64 * 1024)),
    default: 256 * 1024 * 1024,
  }),
  httpPort: setting({
    flag: 'http-port',
    env: 'VIGIL_HTTP_PORT',
    description: 'Port of /healthz, /readyz and /metrics (0 picks a free one)',
    schema: number().int().min(0).max(65535),
    default: 9100,
  }),
  logLevel: logLevelSetting(),
  shutdownGraceSeconds: setting({
    flag: 'shutdown-grace-seconds',
    env: 'VIGIL_SHUTDOWN_GRACE_SECONDS',
    description:
      'On SIGTERM, how long to keep trying to deliver the outbox before exiting (it stays on disk)',
    schema: number().min(0).max(300),
    default: 5,
  }),
  systemMetrics: setting({
    flag: 'system-metrics',
    env: 'VIGIL_SYSTEM_METRICS',
    description: 'Collect node and container metrics from the host root (proc/, sys/fs/cgroup/, statfs)',
    schema: boolean(),
    default: true,
  }),
  metricsIntervalSeconds: setting({
    flag: 'metrics-interval-seconds',
    env: 'VIGIL_METRICS_INTERVAL_SECONDS',
    description: 'Seconds between two node and container metric samples',
    schema: number().min(0.1).max(3600),
    default: 1,
  }),
  metricDetection: setting({
    flag: 'metric-detection',
    env: 'VIGIL_METRIC_DETECTION',
    description: 'Score node and container metrics with streaming detectors and exhaustion forecasts',
    schema: boolean(),
    default: true,
  }),
  metricModelsSaveSeconds: setting({
    flag: 'metric-models-save-seconds',
    env: 'VIGIL_METRIC_MODELS_SAVE_SECONDS',
    description:
      'How often learned metric models (detector baselines, forecast rings) are saved to the state dir; they are also saved on SIGTERM and restored at start (0 = not kept across restarts)',
    schema: number().min(0).max(86_400),
    default: 300,
  }),
  metricForecastStepSeconds: setting({
    flag: 'metric-forecast-step-seconds',
    env: 'VIGIL_METRIC_FORECAST_STEP_SECONDS',
    description:
      'Averaging step of exhaustion forecasts; each watches 60 steps (1 h at 60 s) of a series before it may warn',
    schema: number().min(0.1).max(3600),
    default: 60,
  }),
  logs: setting({
    flag: 'logs',
    env: 'VIGIL_LOGS',
    description: 'Tail container and host logs under <host-root>/var/log and mine their templates',
    schema: boolean(),
    default: true,
  }),
  logWarmupSeconds: setting({
    flag: 'log-warmup-seconds',
    env: 'VIGIL_LOG_WARMUP_SECONDS',
    description: 'How long a new log stream is only learned from before it may raise log signals',
    schema: number().min(0).max(86_400),
    default: 300,
  }),
  security: setting({
    flag: 'security',
    env: 'VIGIL_SECURITY',
    description: 'Run the security rules over auth and Kubernetes audit logs',
    schema: boolean(),
    default: true,
  }),
  procScanSeconds: setting({
    flag: 'proc-scan-seconds',
    env: 'VIGIL_PROC_SCAN_SECONDS',
    description:
      'How often <host-root>/proc is scanned for runtime threats (0 = off); shorter-lived processes can be missed',
    schema: number().min(0).max(3600),
    default: 5,
  }),
  rulePaths: setting({
    flag: 'rules',
    env: 'VIGIL_RULES',
    description: 'Extra security rule files or directories, comma-separated (the shipped rules always load)',
    schema: z.union([z.array(z.string()), z.string()]).transform((v) =>
      Array.isArray(v)
        ? v
        : v
            .split(',')
            .map((p) => p.trim())
            .filter(Boolean),
    ),
    default: [],
    defaultText: 'none',
  }),
  allowProcessKill: setting({
    flag: 'allow-process-kill',
    env: 'VIGIL_ALLOW_PROCESS_KILL',
    description:
      'Let the aggregator ask this agent to kill a runaway host process (off: such commands are rejected)',
    schema: boolean(),
    default: false,
  }),
  kubeconfig: kubeconfigSetting(),
  tlsCa: setting({
    flag: 'tls-ca',
    env: 'VIGIL_TLS_CA',
    description: "CA file to verify the aggregator's certificate",
    schema: z.string(),
  }),
  tlsCert: setting({
    flag: 'tls-cert',
    env: 'VIGIL_TLS_CERT',
    description: 'Client certificate file (mutual TLS)',
    schema: z.string(),
  }),
  tlsKey: setting({
    flag: 'tls-key',
    env: 'VIGIL_TLS_KEY',
    description: 'Client key file (mutual TLS)',
    schema: z.string(),
  }),
};

export type AgentConfig = ConfigOf<typeof agentSettings>;
