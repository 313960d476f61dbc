// No cluster here, so the pods the chart describes run as local processes (pod-emulation.ts): the rendered
// command, env and volumes, with only ports and the Service address replaced by local ones.
import { spawn, spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { freePort } from '../../../common/net/free-port.ts';
import { agentName, aggregatorName, find, render, repoRoot } from './helm.ts';
import { emulatePod, type Running, start, until } from './pod-emulation.ts';

async function status(url: string): Promise<number> {
  return (await fetch(url, { signal: AbortSignal.timeout(2000) })).status;
}

async function stop(running: Running): Promise<number | null> {
  if (running.child.exitCode !== null) return running.child.exitCode;
  running.child.kill('SIGTERM');
  const timer = setTimeout(() => running.child.kill('SIGKILL'), 30_000);
  const code = await running.exited;
  clearTimeout(timer);
  return code;
}

describe('the rendered pods, run as local processes', () => {
  const scratch = mkdtempSync(join(tmpdir(), 'vigil-pods-'));
  const processes: Running[] = [];
  afterAll(async () => {
    for (const p of processes) if (p.child.exitCode === null) p.child.kill('SIGKILL');
    rmSync(scratch, { recursive: true, force: true });
  });

  it('start, pass their probes and the helm test, stream a summary and stop cleanly on SIGTERM', async () => {
    // One-second windows so the first batch arrives quickly; everything else is the chart's default.
    const manifests = render({ set: { 'agent.windowSeconds': 1 } });
    const [grpcPort, aggregatorHttp, agentHttp] = [await freePort(), await freePort(), await freePort()];

    const aggregatorPod = emulatePod(manifests, 'Deployment', aggregatorName, {
      scratch,
      nodeName: 'control-1',
      env: { VIGIL_GRPC_PORT: String(grpcPort), VIGIL_HTTP_PORT: String(aggregatorHttp) },
    });
    expect(aggregatorPod.argv).toEqual(['node', 'cli/main.ts', 'aggregator']);
    const aggregator = start(aggregatorPod);
    processes.push(aggregator);
    await until(
      'aggregator /readyz',
      async () => ((await status(`http://127.0.0.1:${aggregatorHttp}/readyz`)) === 200 ? true : undefined),
      [aggregator],
      90_000,
    );

    // The helm test hook's own command, pointed at the local aggregator instead of its Service.
    const hook = find(manifests, 'Pod', 'obs-vigil-test-aggregator-ready').spec.containers[0];
    const hookRun = spawn(process.execPath, [
      ...hook.command.slice(1),
      hook.args[0],
      `http://127.0.0.1:${aggregatorHttp}/readyz`,
    ]);
    expect(await new Promise((resolve) => hookRun.on('exit', resolve))).toBe(0);

    const agentPod = emulatePod(manifests, 'DaemonSet', agentName, {
      scratch,
      nodeName: 'node-7',
      env: { VIGIL_AGGREGATOR: `127.0.0.1:${grpcPort}`, VIGIL_HTTP_PORT: String(agentHttp) },
    });
    expect(agentPod.argv).toEqual(['node', 'cli/main.ts', 'agent']);
    expect(agentPod.env['VIGIL_HOST_ROOT']).toBe(join(agentPod.root, 'host'));
    const agent = start(agentPod);
    processes.push(agent);

    // Polling /metrics (what the ServiceMonitor scrapes) is cheap; the node list is then read once.
    await until(
      'a batch from node-7 accepted by the aggregator',
      async () => {
        const metrics = await (await fetch(`http://127.0.0.1:${aggregatorHttp}/metrics`)).text();
        const accepted = /^vigil_aggregator_batches_total\{result="accepted"\} (\d+)/m.exec(metrics);
        return Number(accepted?.[1] ?? 0) >= 1 ? true : undefined;
      },
      [aggregator, agent],
      90_000,
    );
    const listed = spawnSync(
      process.execPath,
      ['cli/main.ts', 'nodes', '--json', '--aggregator', `127.0.0.1:${grpcPort}`],
      { cwd: repoRoot, encoding: 'utf8' },
    );
    const nodes = JSON.parse(listed.stdout) as Array<{ node: string; connected: boolean; lastSeq: number }>;
    const node = nodes.find((n) => n.node === 'node-7');
    expect(node?.connected).toBe(true);
    expect(node?.lastSeq).toBeGreaterThanOrEqual(1);
    await until(
      'agent /readyz',
      async () => ((await status(`http://127.0.0.1:${agentHttp}/readyz`)) === 200 ? true : undefined),
      [agent],
      30_000,
    );
    expect(await status(`http://127.0.0.1:${agentHttp}/healthz`)).toBe(200);

    expect(await stop(agent)).toBe(0);
    expect(await stop(aggregator)).toBe(0);
    // Three process start-ups (about 40 s on a loaded 2-core machine), hence the long budget.
  }, 240_000);
});
