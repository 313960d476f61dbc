// Runs the real helm binary against charts/vigil and parses what it renders, so chart tests assert on the
// manifests a cluster would receive.
import { spawnSync } from 'node:child_process';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseAllDocuments } from 'yaml';
import { helmBinary } from '../../support/k8s-binaries.ts';

export const repoRoot = join(dirname(fileURLToPath(import.meta.url)), '..', '..', '..');
export const chartDir = join(repoRoot, 'charts', 'vigil');
export const releaseName = 'obs';
export const namespace = 'vigil-system';

// A rendered Kubernetes object; tests narrow the fields they read.
export type Manifest = {
  apiVersion: string;
  kind: string;
  metadata: {
    name: string;
    namespace?: string;
    labels?: Record<string, string>;
    annotations?: Record<string, string>;
  };
  // biome-ignore lint/suspicious/noExplicitAny: manifests are untyped YAML; each test reads what it checks
  [field: string]: any;
};

export type HelmResult = { status: number; stdout: string; stderr: string };

export function helm(args: string[]): HelmResult {
  const run = spawnSync(helmBinary(), args, {
    cwd: repoRoot,
    encoding: 'utf8',
    // An empty HOME-like sandbox: no user repositories or plugins influence the run.
    env: {
      PATH: process.env['PATH'] ?? '',
      HELM_CACHE_HOME: join(repoRoot, 'node_modules', '.cache', 'vigil-helm', 'cache'),
      HELM_CONFIG_HOME: join(repoRoot, 'node_modules', '.cache', 'vigil-helm', 'config'),
      HELM_DATA_HOME: join(repoRoot, 'node_modules', '.cache', 'vigil-helm', 'data'),
    },
  });
  if (run.error) throw run.error;
  return { status: run.status ?? -1, stdout: run.stdout, stderr: run.stderr };
}

// `--set`-style overrides; each key becomes `--set key=value` (or --set-string).
// `kubeVersion` stands in for the cluster's version (.Capabilities.KubeVersion).
export type Overrides = {
  set?: Record<string, string | number | boolean>;
  setString?: Record<string, string>;
  kubeVersion?: string;
};

function overrideArgs(overrides: Overrides): string[] {
  const args: string[] = overrides.kubeVersion ? ['--kube-version', overrides.kubeVersion] : [];
  for (const [key, value] of Object.entries(overrides.set ?? {})) args.push('--set', `${key}=${value}`);
  for (const [key, value] of Object.entries(overrides.setString ?? {}))
    args.push('--set-string', `${key}=${value}`);
  return args;
}

// Rendering is pure for given arguments (except the generated TLS material, which only needs to be valid),
// so each distinct render runs helm once per test file.
const rendered = new Map<string, HelmResult>();

export function templateRaw(overrides: Overrides = {}, release = releaseName): HelmResult {
  const args = ['template', release, chartDir, '--namespace', namespace, ...overrideArgs(overrides)];
  const key = JSON.stringify(args);
  const cached = rendered.get(key) ?? helm(args);
  rendered.set(key, cached);
  return cached;
}

export function lint(overrides: Overrides = {}): HelmResult {
  return helm(['lint', '--strict', chartDir, '--namespace', namespace, ...overrideArgs(overrides)]);
}

// Renders the chart and returns every object; fails loudly (with helm's message) when rendering fails.
export function render(overrides: Overrides = {}, release = releaseName): Manifest[] {
  const result = templateRaw(overrides, release);
  if (result.status !== 0) throw new Error(`helm template failed (${result.status}): ${result.stderr}`);
  const manifests: Manifest[] = [];
  // Parsed afresh each time, so a test may change what it gets without affecting another.
  for (const doc of parseAllDocuments(result.stdout)) {
    if (doc.errors.length > 0) throw new Error(`rendered YAML does not parse: ${doc.errors[0]?.message}`);
    const value: unknown = doc.toJS();
    if (value !== null && value !== undefined) manifests.push(value as Manifest);
  }
  return manifests;
}

export function find(manifests: Manifest[], kind: string, name: string): Manifest {
  const found = manifests.find((m) => m.kind === kind && m.metadata.name === name);
  if (!found) {
    const present = manifests.map((m) => `${m.kind}/${m.metadata.name}`).join(', ');
    throw new Error(`${kind}/${name} was not rendered; rendered: ${present}`);
  }
  return found;
}

export const agentName = `${releaseName}-vigil-agent`;
export const aggregatorName = `${releaseName}-vigil-aggregator`;
