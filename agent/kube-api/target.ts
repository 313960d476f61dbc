// Where the agent reaches the Kubernetes API and how it authenticates: an explicit kubeconfig, else the in-cluster
// service account, else nothing (Kubernetes features off, said once). Covers what an agent meets: a token or a
// client certificate. exec and auth-provider plugins (cloud logins on a laptop) are refused with a clear error:
// the agent runs in-cluster with its service account.
import { existsSync, readFileSync } from 'node:fs';
import { dirname, resolve } from 'node:path';
import { parse } from 'yaml';
import { z } from 'zod';
import type { Logger } from '../../common/log.ts';

const SERVICE_ACCOUNT_DIR = '/var/run/secrets/kubernetes.io/serviceaccount';

export interface KubeTarget {
  /** Base URL of the API server, without a trailing slash. */
  server: string;
  ca?: Buffer;
  cert?: Buffer;
  key?: Buffer;
  /** Do not verify the server's certificate (kubeconfig `insecure-skip-tls-verify`). */
  insecure: boolean;
  token?: string;
  /** A bearer token read from this file, again as it is rotated (projected service account tokens). */
  tokenFile?: string;
}

// Only the fields the agent reads; everything else in a kubeconfig is allowed and ignored.
const kubeconfigSchema = z.object({
  'current-context': z.string().optional(),
  contexts: z
    .array(
      z.object({ name: z.string(), context: z.object({ cluster: z.string(), user: z.string().optional() }) }),
    )
    .default([]),
  clusters: z
    .array(
      z.object({
        name: z.string(),
        cluster: z.object({
          server: z.string(),
          'certificate-authority': z.string().optional(),
          'certificate-authority-data': z.string().optional(),
          'insecure-skip-tls-verify': z.boolean().optional(),
        }),
      }),
    )
    .default([]),
  users: z
    .array(
      z.object({
        name: z.string(),
        user: z
          .object({
            token: z.string().optional(),
            tokenFile: z.string().optional(),
            'client-certificate': z.string().optional(),
            'client-certificate-data': z.string().optional(),
            'client-key': z.string().optional(),
            'client-key-data': z.string().optional(),
            exec: z.unknown().optional(),
            'auth-provider': z.unknown().optional(),
          })
          .nullish(),
      }),
    )
    .default([]),
});

/** Reads a kubeconfig's current context. Throws an Error that names the file and what is wrong. */
export function kubeTargetFromFile(path: string): KubeTarget {
  const fail = (what: string): never => {
    throw new Error(`cannot load kubeconfig ${path}: ${what}`);
  };
  let doc: unknown;
  try {
    doc = parse(readFileSync(path, 'utf8'));
  } catch (error) {
    fail((error as Error).message);
  }
  const parsed = kubeconfigSchema.safeParse(doc);
  if (!parsed.success) {
    const issue = parsed.error.issues[0]!;
    fail(`${issue.path.join('.') || 'document'}: ${issue.message}`);
  }
  const config = parsed.data!;
  const contextName = config['current-context'] ?? fail('no current-context');
  const context =
    config.contexts.find((c) => c.name === contextName)?.context ?? fail(`no context named ${contextName}`);
  const cluster =
    config.clusters.find((c) => c.name === context.cluster)?.cluster ??
    fail(`no cluster named ${context.cluster}`);
  const user = (context.user && config.users.find((u) => u.name === context.user)?.user) || {};
  if (user.exec !== undefined || user['auth-provider'] !== undefined)
    fail(
      `user ${context.user} signs in through an exec or auth-provider plugin, which the agent does not run: give it a token or a client certificate (in a cluster it uses its service account)`,
    );
  // Relative file names in a kubeconfig are relative to the kubeconfig itself (as kubectl reads them).
  const fromConfig = (name: string) => resolve(dirname(path), name);
  const data = (inline: string | undefined, name: string | undefined) =>
    inline !== undefined
      ? Buffer.from(inline, 'base64')
      : name !== undefined
        ? readFileSync(fromConfig(name))
        : undefined;
  const target: KubeTarget = {
    server: cluster.server.replace(/\/+$/, ''),
    insecure: cluster['insecure-skip-tls-verify'] ?? false,
  };
  const ca = data(cluster['certificate-authority-data'], cluster['certificate-authority']);
  const cert = data(user['client-certificate-data'], user['client-certificate']);
  const key = data(user['client-key-data'], user['client-key']);
  if (ca) target.ca = ca;
  if (cert) target.cert = cert;
  if (key) target.key = key;
  if (user.token) target.token = user.token;
  else if (user.tokenFile) target.tokenFile = fromConfig(user.tokenFile);
  return target;
}

/** The pod's service account, as client-go's rest.InClusterConfig reads it. */
export function inClusterTarget(env = process.env, dir = SERVICE_ACCOUNT_DIR): KubeTarget | undefined {
  const host = env['KUBERNETES_SERVICE_HOST'];
  const port = env['KUBERNETES_SERVICE_PORT'];
  if (!host || !port || !existsSync(`${dir}/token`)) return undefined;
  const target: KubeTarget = {
    server: `https://${host.includes(':') ? `[${host}]` : host}:${port}`,
    insecure: false,
    tokenFile: `${dir}/token`,
  };
  if (existsSync(`${dir}/ca.crt`)) target.ca = readFileSync(`${dir}/ca.crt`);
  return target;
}

export function loadKubeTarget(kubeconfig: string | undefined, logger: Logger): KubeTarget | undefined {
  if (kubeconfig) {
    const target = kubeTargetFromFile(kubeconfig);
    logger.info({ kubeconfig, server: target.server }, 'Kubernetes API via kubeconfig');
    return target;
  }
  const inCluster = inClusterTarget();
  if (inCluster) {
    logger.info({ server: inCluster.server }, 'Kubernetes API via in-cluster service account');
    return inCluster;
  }
  logger.info('Kubernetes features are off: no kubeconfig given and not running in a cluster');
  return undefined;
}
