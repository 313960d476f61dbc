// Learned metric models survive an agent restart: an agent on a fake node watches a container leak towards
// its memory limit for less than a forecast ring, is stopped with SIGTERM and started again on the same state
// dir. The second agent warns without watching another whole ring, and logs how many series it restored.
import { rmSync } from 'node:fs';
import { afterEach, describe, expect, it } from 'vitest';
import { writeContainerFiles, writeFakeNode } from '../../fixtures/proc/fake-node.ts';
import { tempDir } from '../../support/in-process.ts';
import { type Proc, startVigil } from '../../support/processes.ts';

const procs: Proc[] = [];
const dirs: string[] = [];
let leakTimer: NodeJS.Timeout | undefined;
afterEach(async () => {
  clearInterval(leakTimer);
  await Promise.all(procs.splice(0).map((p) => p.kill('SIGKILL')));
  for (const d of dirs.splice(0)) rmSync(d, { recursive: true, force: true });
});

const STEP_SECONDS = 0.5;
/** The forecaster's ring: 60 steps; a fresh forecaster may not warn before it has watched one. */
const RING_MS = 60 * STEP_SECONDS * 1000;
const MIB = 2 ** 20;

describe('metric models across an agent restart', { timeout: 120_000 }, () => {
  it('warns of an ongoing leak soon after a SIGTERM restart, without watching another ring', async () => {
    const host = tempDir('restart-host');
    const state = tempDir('restart-state');
    dirs.push(host, state);
    const [pod] = writeFakeNode(host, { pods: 1, containersPerPod: 1 });
    const container = pod!.containers[0]!;
    const limit = 2048 * MIB;
    const started = Date.now();
    // 4 MiB/s from 200 MiB against a 2 GiB limit: full in ≈ 8 min, a leak by any forecast horizon.
    const writeLeak = () =>
      writeContainerFiles(container.path, {
        memoryBytes: Math.round(200 * MIB + ((Date.now() - started) / 1000) * 4 * MIB),
        usageUsec: 1_000_000 + (Date.now() - started) * 100,
        limitBytes: limit,
      });
    writeLeak();
    leakTimer = setInterval(writeLeak, 50);

    const args = [
      'agent',
      '--node',
      'restart-node',
      // Nothing listens there: batches stay in the outbox.
      '--aggregator',
      '127.0.0.1:1',
      '--state-dir',
      state,
      '--host-root',
      host,
      '--http-port',
      '0',
      '--logs',
      'false',
      '--security',
      'false',
      '--proc-scan-seconds',
      '0',
      '--metrics-interval-seconds',
      '0.1',
      '--metric-forecast-step-seconds',
      String(STEP_SECONDS),
      '--shutdown-grace-seconds',
      '0',
      '--log-level',
      'debug',
    ];
    const opened = (l: Record<string, unknown>) =>
      l['msg'] === 'exhaustion forecast opened' && String(l['series']).startsWith('container.memory');

    // First agent: two thirds of a ring, not enough to warn.
    const first = startVigil(args);
    procs.push(first);
    const firstUp = await first.waitFor((l) => l['msg'] === 'agent started');
    const firstRestore = await first.waitFor((l) => l['msg'] === 'metric pipeline restored its models');
    expect(firstRestore['restored']).toBe(0);
    await new Promise((r) => setTimeout(r, (2 / 3) * RING_MS - (Date.now() - Number(firstUp['time']))));
    expect(await first.kill('SIGTERM')).toBe(0);
    expect(first.lines.some((l) => opened(l as Record<string, unknown>))).toBe(false);
    const saved = first.lines.find(
      (l) => (l as Record<string, unknown>)['msg'] === 'metric models saved at close',
    );
    expect((saved as Record<string, unknown> | undefined)?.['written']).toBeGreaterThan(0);

    // Second agent on the same state dir: restores, and warns well before a ring of its own.
    const second = startVigil(args);
    procs.push(second);
    const restore = await second.waitFor((l) => l['msg'] === 'metric pipeline restored its models');
    expect(restore['restored']).toBeGreaterThan(0);
    expect(restore['skipped']).toBe(0);
    const secondUp = await second.waitFor((l) => l['msg'] === 'agent started');
    const warning = await second.waitFor(opened, 2 * RING_MS);
    expect(Number(warning['timeMs']) - Number(secondUp['time'])).toBeLessThan(RING_MS);
    await second.kill('SIGTERM');
  });
});
