// Writes a kubeconfig for the simulator: one cluster (plain HTTP on loopback), one token user.
import { mkdirSync, renameSync, writeFileSync } from 'node:fs';
import { dirname } from 'node:path';
import { stringify } from 'yaml';

export interface KubeconfigOptions {
  server: string;
  path: string;
  /** Any token is accepted; `user:<name>` makes the audit log name that user. */
  token?: string;
  clusterName?: string;
  namespace?: string;
}

export function kubeconfigYaml(options: Omit<KubeconfigOptions, 'path'>): string {
  const cluster = options.clusterName ?? 'vigil-sim';
  const context: Record<string, string> = { cluster, user: 'vigil-sim-admin' };
  if (options.namespace) context.namespace = options.namespace;
  return stringify({
    apiVersion: 'v1',
    kind: 'Config',
    // client-node 2.x refuses plain HTTP unless the cluster says to skip TLS verification; kubectl ignores it
    // for http:// servers.
    clusters: [{ name: cluster, cluster: { server: options.server, 'insecure-skip-tls-verify': true } }],
    users: [{ name: 'vigil-sim-admin', user: { token: options.token ?? 'vigil-sim-token' } }],
    contexts: [{ name: cluster, context }],
    'current-context': cluster,
    preferences: {},
  });
}

/** Written atomically so a client polling for the file never reads half of it. */
export function writeKubeconfig(options: KubeconfigOptions): string {
  mkdirSync(dirname(options.path), { recursive: true });
  const tmp = `${options.path}.${process.pid}.tmp`;
  writeFileSync(tmp, kubeconfigYaml(options), { mode: 0o600 });
  renameSync(tmp, options.path);
  return options.path;
}
