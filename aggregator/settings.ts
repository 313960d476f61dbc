import { z } from 'zod';
import { bytes, type ConfigOf, number, setting } from '../common/config/settings.ts';
import { kubeconfigSetting, logLevelSetting } from '../common/config/shared-settings.ts';

/** Every aggregator setting: flag › env › file (`aggregator:` section) › default. */
export const aggregatorSettings = {
  grpcHost: setting({
    flag: 'grpc-host',
    env: 'VIGIL_GRPC_HOST',
    description: 'Address the gRPC server binds (agent gateway and integration API)',
    schema: z.string().min(1),
    default: '0.0.0.0',
  }),
  grpcPort: setting({
    flag: 'grpc-port',
    env: 'VIGIL_GRPC_PORT',
    description: 'gRPC port (0 picks a free one)',
    schema: number().int().min(0).max(65535),
    default: 7400,
  }),
  httpPort: setting({
    flag: 'http-port',
    env: 'VIGIL_HTTP_PORT',
    description: 'Port of /healthz, /readyz and /metrics (0 picks a free one)',
    schema: number().int().min(0).max(65535),
    default: 9100,
  }),
  stateDir: setting({
    flag: 'state-dir',
    env: 'VIGIL_STATE_DIR',
    description: 'Directory of the LMDB state (node records, recent summaries)',
    schema: z.string().min(1),
    default: '/var/lib/vigil',
  }),
  retainSummaries: setting({
    flag: 'retain-summaries',
    env: 'VIGIL_RETAIN_SUMMARIES',
    description: 'Summaries kept per node (360 = one hour of 10 s windows)',
    schema: number().int().min(1),
    default: 360,
  }),
  maxBatchBytes: setting({
    flag: 'max-batch-bytes',
    env: 'VIGIL_MAX_BATCH_BYTES',
    description: 'Largest summary accepted from an agent; larger ones are refused and counted',
    schema: bytes().pipe(z.number().min(1024)),
    default: 4 * 1024 * 1024,
  }),
  logLevel: logLevelSetting(),
  kubeconfig: kubeconfigSetting(),
  policyFile: setting({
    flag: 'policy',
    env: 'VIGIL_POLICY_FILE',
    description: 'Remediation policy YAML (e.g. policies/default.yaml); without one every action is off',
    schema: z.string().min(1),
  }),
  notify: setting({
    flag: 'notify',
    env: 'VIGIL_NOTIFY',
    description: 'Notification targets, comma-separated: alertmanager=URL, pagerduty=ROUTING_KEY@URL',
    schema: z.string().min(1),
  }),
  externalUrl: setting({
    flag: 'external-url',
    env: 'VIGIL_EXTERNAL_URL',
    description: 'Base URL of the links in notifications',
    schema: z.string().url(),
    default: 'http://vigil-aggregator',
  }),
  incidentWindowSeconds: setting({
    flag: 'incident-window-seconds',
    env: 'VIGIL_INCIDENT_WINDOW_SECONDS',
    description: 'A signal joins an open incident it relates to within this window',
    schema: number().positive(),
    default: 300,
  }),
  incidentQuietSeconds: setting({
    flag: 'incident-quiet-seconds',
    env: 'VIGIL_INCIDENT_QUIET_SECONDS',
    description: 'An incident whose signals stayed quiet this long resolves itself',
    schema: number().positive(),
    default: 300,
  }),
  tlsCa: setting({
    flag: 'tls-ca',
    env: 'VIGIL_TLS_CA',
    description: 'CA file; when set, agents and clients must present certificates it signed (mutual TLS)',
    schema: z.string(),
  }),
  tlsCert: setting({
    flag: 'tls-cert',
    env: 'VIGIL_TLS_CERT',
    description: 'Server certificate file; with a key, switches TLS on',
    schema: z.string(),
  }),
  tlsKey: setting({
    flag: 'tls-key',
    env: 'VIGIL_TLS_KEY',
    description: 'Server key file',
    schema: z.string(),
  }),
};

export type AggregatorConfig = ConfigOf<typeof aggregatorSettings>;
