// Shared helpers for the simulator tests: a small scenario, a simulator per test, real kubectl, polling.
import { execFile } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createLogger } from '../../../common/log.ts';
import { parseScenario } from '../../../sim/scenario/load.ts';
import { type Simulator, startSimulator } from '../../../sim/simulator.ts';
import { kubectlBinary } from '../../support/k8s-binaries.ts';

export const SMALL_CLUSTER = `
name: kubectl-fidelity
seed: 5
durationSeconds: 600
nodes:
  - { name: cp-1, role: control-plane }
  - { name: node, count: 3 }
namespaces: [shop]
workloads:
  - name: web
    namespace: shop
    replicas: 3
    image: shop/web:1.0.0
    port: 8080
    startSeconds: 0.5
    readinessSeconds: 0.5
    logs:
      - { rate: 2, message: 'GET /items/{int:1-50} 200 {latency}ms' }
  - name: guarded
    namespace: shop
    replicas: 2
    image: shop/guarded:1.0.0
    startSeconds: 0.5
    readinessSeconds: 0.5
    pdb: { minAvailable: 2 }
  - kind: DaemonSet
    name: agent
    namespace: kube-system
    image: vigil/agent:dev
    startSeconds: 0.5
    readinessSeconds: 0.5
groundTruth:
  rootCause: { kind: Node, object: Node/node-1 }
  startsAt: 0
`;

export interface TestSim {
  sim: Simulator;
  kubectl(...args: string[]): Promise<{ code: number; stdout: string; stderr: string }>;
  close(): Promise<void>;
}

export async function startTestSim(yaml = SMALL_CLUSTER, speed = 4): Promise<TestSim> {
  const root = mkdtempSync(join(tmpdir(), 'vigil-sim-test-'));
  const sim = await startSimulator({
    scenario: parseScenario(yaml, 'test.yaml'),
    root,
    speed,
    tickMs: 100,
    bookmarkIntervalMs: 500,
    logger: createLogger('sim-test', 'silent'),
  });
  const bin = kubectlBinary();
  return {
    sim,
    kubectl: (...args) =>
      new Promise((resolve) => {
        execFile(
          bin,
          ['--kubeconfig', sim.kubeconfigPath, ...args],
          { timeout: 60_000 },
          (err, stdout, stderr) => {
            const code = err ? (typeof err.code === 'number' ? err.code : 1) : 0;
            resolve({ code, stdout, stderr });
          },
        );
      }),
    close: async () => {
      await sim.stop();
      rmSync(root, { recursive: true, force: true });
    },
  };
}

/** The small cluster for watch tests: fast ticks, bookmarks every `bookmarkMs`, a watch history of `history`. */
export async function startWatchSim(
  opts: { history?: number; bookmarkMs?: number } = {},
): Promise<{ sim: Simulator; root: string }> {
  const root = mkdtempSync(join(tmpdir(), 'vigil-sim-watch-'));
  const sim = await startSimulator({
    scenario: parseScenario(SMALL_CLUSTER, 'test.yaml'),
    root,
    speed: 4,
    tickMs: 100,
    bookmarkIntervalMs: opts.bookmarkMs ?? 300,
    watchHistorySize: opts.history ?? 5000,
    logger: createLogger('sim-test', 'silent'),
  });
  return { sim, root };
}

/** Polls `check` until it returns a value (not undefined/false) or the deadline passes. */
export async function waitFor<T>(
  what: string,
  check: () => T | undefined | false | Promise<T | undefined | false>,
  timeoutMs = 30_000,
): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  let last: unknown;
  for (;;) {
    try {
      const v = await check();
      if (v !== undefined && v !== false) return v;
    } catch (err) {
      last = err;
    }
    if (Date.now() > deadline)
      throw new Error(`timed out waiting for ${what}${last ? `: ${String(last)}` : ''}`);
    await new Promise((r) => setTimeout(r, 100));
  }
}
