// The scenario file format (docs/scenarios.md documents it for users). Validated with zod; every error
// is mapped back to a line of the YAML file by load.ts.
import { z } from 'zod';
import { parseQuantity } from '../controllers/runtime.ts';

const quantity = z
  .union([z.number().nonnegative(), z.string()])
  .refine((v) => parseQuantity(v) !== undefined, {
    message: 'must be a quantity such as 512Mi, 2Gi, 250m or a number',
  });

const percentOrQuantity = z.union([
  quantity,
  z.string().regex(/^\d+(\.\d+)?%$/, 'must be a percentage such as 40%'),
]);

const name = z
  .string()
  .regex(/^[a-z0-9]([-a-z0-9]*[a-z0-9])?$/, 'must be a lowercase RFC 1123 name (a-z, 0-9, "-")');

export const OBJECT_KINDS = [
  'Pod',
  'Deployment',
  'StatefulSet',
  'DaemonSet',
  'Service',
  'Node',
  'Namespace',
  'Source',
  'User',
] as const;
export const CLUSTER_SCOPED_KINDS = new Set(['Node', 'Namespace', 'Source', 'User']);

/** `Kind/namespace/name` for namespaced kinds, `Kind/name` for Node, Namespace, Source (an IP) and User. */
export const objectRef = z.string().refine(
  (s) => {
    const parts = s.split('/');
    const kind = parts[0] ?? '';
    if (!(OBJECT_KINDS as readonly string[]).includes(kind)) return false;
    return CLUSTER_SCOPED_KINDS.has(kind)
      ? parts.length === 2 && !!parts[1]
      : parts.length === 3 && !!parts[1] && !!parts[2];
  },
  {
    message: `must be Kind/namespace/name (Pod, Deployment, StatefulSet, DaemonSet, Service) or Kind/name (Node, Namespace, Source, User)`,
  },
);

const logLine = z.strictObject({
  message: z.string().min(1),
  /** Lines per simulated second per container. */
  rate: z.number().positive().max(1000),
  level: z.enum(['debug', 'info', 'warn', 'error', 'fatal']).default('info'),
  stream: z.enum(['stdout', 'stderr']).default('stdout'),
});

export const workloadSchema = z.strictObject({
  kind: z.enum(['Deployment', 'StatefulSet', 'DaemonSet']).default('Deployment'),
  name,
  namespace: name.default('default'),
  replicas: z.number().int().min(0).max(500).default(1),
  image: z.string().min(1),
  /** Container port; a Service with the workload's name is created for it. */
  port: z.number().int().min(1).max(65535).optional(),
  labels: z.record(z.string(), z.string()).optional(),
  resources: z
    .strictObject({
      requests: z.strictObject({ cpu: quantity.optional(), memory: quantity.optional() }).optional(),
      limits: z.strictObject({ cpu: quantity.optional(), memory: quantity.optional() }).optional(),
    })
    .optional(),
  memory: z.strictObject({ baseline: quantity, noise: quantity.default('2Mi') }).optional(),
  cpu: quantity.optional(),
  startSeconds: z.number().min(0).max(300).default(1.5),
  readinessSeconds: z.number().min(0).max(300).default(2),
  logFormat: z.enum(['plain', 'json', 'logfmt']).default('plain'),
  logs: z.array(logLine).default([]),
  startupLogs: z.array(z.string()).default([]),
  /** Services this workload calls: `name` (same namespace) or `namespace/name`. */
  calls: z
    .array(z.string().regex(/^([a-z0-9-]+\/)?[a-z0-9-]+$/, 'must be service or namespace/service'))
    .default([]),
  /** Lines per second each caller pod logs while a called service is down or slow. */
  callErrorRate: z.number().positive().max(100).default(2),
  pdb: z
    .strictObject({
      minAvailable: z.union([z.number().int(), z.string()]).optional(),
      maxUnavailable: z.union([z.number().int(), z.string()]).optional(),
    })
    .optional(),
  privileged: z.boolean().default(false),
  nodeSelector: z.record(z.string(), z.string()).optional(),
});

const base = { at: z.number().min(0), duration: z.number().positive().optional() };

export const faultSchema = z.discriminatedUnion('kind', [
  z.strictObject({
    kind: z.literal('oom_kill'),
    ...base,
    target: objectRef,
    rampSeconds: z.number().min(0).default(8),
  }),
  z.strictObject({
    kind: z.literal('memory_leak'),
    ...base,
    target: objectRef,
    rate: quantity.default('8Mi'),
  }),
  z.strictObject({
    kind: z.literal('crash_loop_after_rollout'),
    ...base,
    target: objectRef,
    image: z.string().min(1),
    crashAfterSeconds: z.number().min(0).default(3),
    exitCode: z.number().int().min(1).max(255).default(1),
    message: z.string().default('panic: runtime error: invalid memory address or nil pointer dereference'),
    /** The new image cannot be pulled at all (ErrImagePull / ImagePullBackOff) instead of crashing. */
    pullError: z.boolean().default(false),
  }),
  z.strictObject({
    kind: z.literal('dependency_down'),
    ...base,
    target: objectRef,
    message: z.string().default('FATAL: could not open data directory: input/output error'),
    exitCode: z.number().int().min(1).max(255).default(1),
  }),
  z.strictObject({
    kind: z.literal('latency_spike'),
    ...base,
    target: objectRef,
    factor: z.number().min(1).default(20),
    /** Share of probe windows (5 s each) in which a slow pod fails its readiness probe: flapping. */
    readinessFailureRatio: z.number().min(0).max(1).default(0.3),
  }),
  z.strictObject({
    kind: z.literal('disk_fill'),
    ...base,
    target: objectRef,
    /** Bytes written per simulated second. */
    rate: quantity.default('1Gi'),
    /** Stops filling at this share of the disk. */
    upTo: z
      .string()
      .regex(/^\d+(\.\d+)?%$/)
      .default('97%'),
  }),
  z.strictObject({ kind: z.literal('node_not_ready'), ...base, target: objectRef }),
  z.strictObject({
    kind: z.literal('ssh_bruteforce'),
    ...base,
    /** Node/<name>; `nodes` lists more for password spraying. */
    target: objectRef.optional(),
    nodes: z.array(z.string()).optional(),
    sourceIp: z.string().regex(/^\d{1,3}(\.\d{1,3}){3}$/, 'must be an IPv4 address'),
    attempts: z.number().int().min(1).max(10000).default(40),
    ratePerSecond: z.number().positive().max(1000).default(5),
    users: z.array(z.string()).default(['root', 'admin', 'ubuntu', 'test', 'oracle', 'postgres']),
    success: z.strictObject({ user: z.string(), node: z.string().optional() }).optional(),
  }),
  z.strictObject({
    kind: z.literal('exec_into_pod'),
    ...base,
    target: objectRef,
    user: z.string().default('kubernetes-admin'),
    command: z.array(z.string()).default(['/bin/sh']),
    sourceIp: z.string().default('10.0.0.250'),
  }),
  z.strictObject({
    kind: z.literal('privileged_pod_created'),
    ...base,
    namespace: name.default('default'),
    name,
    image: z.string().default('alpine:3.20'),
    user: z.string().default('kubernetes-admin'),
    hostPID: z.boolean().default(true),
    sourceIp: z.string().default('10.0.0.250'),
  }),
]);

export const FAULT_KINDS = [
  'oom_kill',
  'memory_leak',
  'crash_loop_after_rollout',
  'dependency_down',
  'latency_spike',
  'disk_fill',
  'node_not_ready',
  'ssh_bruteforce',
  'exec_into_pod',
  'privileged_pod_created',
] as const;

export const scenarioSchema = z.strictObject({
  name: z.string().min(1),
  description: z.string().default(''),
  seed: z.number().int().default(1),
  durationSeconds: z.number().positive().max(3600).default(90),
  cluster: z
    .strictObject({
      nodeMonitorGracePeriodSeconds: z.number().positive().default(40),
      podEvictionTimeoutSeconds: z.number().positive().default(300),
      logRotateBytes: quantity.default('10Mi'),
      logMaxFiles: z.number().int().min(2).max(50).default(5),
    })
    .prefault({}),
  nodes: z
    .array(
      z.strictObject({
        name,
        role: z.enum(['control-plane', 'worker']).default('worker'),
        /** Expands to `<name>-1` … `<name>-<count>`. */
        count: z.number().int().min(1).max(100).optional(),
        cpus: z.number().int().min(1).max(256).default(4),
        memory: quantity.default('8Gi'),
        disk: quantity.default('100Gi'),
        diskUsed: percentOrQuantity.default('35%'),
        labels: z.record(z.string(), z.string()).optional(),
      }),
    )
    .min(1),
  namespaces: z.array(name).default([]),
  workloads: z.array(workloadSchema).default([]),
  faults: z.array(faultSchema).default([]),
  groundTruth: z.strictObject({
    rootCause: z.strictObject({
      /** A fault kind (oom_kill, …) or an object kind (Pod, Node, …). */
      kind: z
        .string()
        .refine(
          (k) =>
            (FAULT_KINDS as readonly string[]).includes(k) || (OBJECT_KINDS as readonly string[]).includes(k),
          {
            message: `must be a fault kind (${FAULT_KINDS.join(', ')}) or an object kind (${OBJECT_KINDS.join(', ')})`,
          },
        ),
      object: objectRef,
    }),
    /** Simulated seconds after start when the root cause begins. */
    startsAt: z.number().min(0),
  }),
});

export type Scenario = z.infer<typeof scenarioSchema>;
export type WorkloadSpec = z.infer<typeof workloadSchema>;
export type Fault = z.infer<typeof faultSchema>;
export type FaultKind = Fault['kind'];
