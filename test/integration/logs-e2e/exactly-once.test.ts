// Container logs end to end through real processes: CRI files on disk (rotated while written), the agent
// tailing and mining them, killed with SIGKILL midway and restarted, the aggregator storing summaries.
// Every line written is counted exactly once in the template counts the aggregator holds.
import { appendFileSync, mkdirSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { fromBinary } from '@bufbuild/protobuf';
import { afterEach, describe, expect, it } from 'vitest';
import { AggregatorStore } from '../../../aggregator/store/aggregator-store.ts';
import { SummarySchema } from '../../../proto/gen/vigil/v1/summary_pb.js';
import { quietLogger, tempDir } from '../../support/in-process.ts';
import { freePort, type Proc, startVigil } from '../../support/processes.ts';

const procs: Proc[] = [];
afterEach(async () => {
  await Promise.all(procs.splice(0).map((p) => p.kill('SIGKILL')));
});

const pause = (ms: number) => new Promise((r) => setTimeout(r, ms));

function criLine(i: number): string {
  const ts = new Date(Date.UTC(2026, 0, 1, 0, 0, 0, i)).toISOString().replace('Z', '000000Z');
  const msg =
    i % 7 === 0
      ? `ERROR payment ${i} failed: connection refused to db:5432`
      : `GET /api/orders/${i} 200 ${i % 90}ms`;
  return `${ts} stdout F ${msg}\n`;
}

async function countedLines(aggDir: string, pod: string): Promise<number> {
  const store = new AggregatorStore(aggDir, quietLogger, { retainSummaries: 1e9 });
  let total = 0;
  try {
    for (const rec of store.loadNodes()) {
      for (const { summary } of store.readSummaries(rec.node)) {
        const s = fromBinary(SummarySchema, summary);
        for (const l of s.logs) {
          if (l.subject?.pod !== pod) continue;
          const sum = l.counts.reduce((a, c) => a + c.count, 0);
          expect(sum).toBe(Number(l.lines));
          total += sum;
        }
      }
    }
  } finally {
    await store.close();
  }
  return total;
}

describe('container logs through the agent', () => {
  it('counts every line exactly once across rotation and an agent killed with SIGKILL', async () => {
    const host = tempDir('host');
    const aggDir = tempDir('agg');
    const agentDir = tempDir('agent');
    const dir = join(host, 'var/log/pods/shop_api-1_0f0e0d0c-0000-4000-8000-000000000001/api');
    mkdirSync(dir, { recursive: true });
    const file = join(dir, '0.log');
    writeFileSync(file, '');
    const port = await freePort();
    const agg = startVigil([
      'aggregator',
      '--grpc-host',
      '127.0.0.1',
      '--grpc-port',
      String(port),
      '--http-port',
      '0',
      '--state-dir',
      aggDir,
      '--retain-summaries',
      '1000000',
    ]);
    procs.push(agg);
    await agg.waitFor((l) => l['msg'] === 'aggregator started');
    const agentArgs = [
      'agent',
      '--node',
      'logs-node',
      '--aggregator',
      `127.0.0.1:${port}`,
      '--state-dir',
      agentDir,
      '--host-root',
      host,
      '--http-port',
      '0',
      '--window-seconds',
      '0.3',
      '--system-metrics',
      'false',
      '--security',
      'false',
      '--shutdown-grace-seconds',
      '15',
    ];
    let agent = startVigil(agentArgs);
    procs.push(agent);
    await agent.waitFor((l) => l['msg'] === 'connected to aggregator');

    const total = 6000;
    let written = 0;
    const writeSome = (n: number) => {
      let chunk = '';
      for (let k = 0; k < n && written < total; k++) chunk += criLine(written++);
      appendFileSync(file, chunk);
    };
    while (written < 2000) {
      writeSome(100);
      await pause(20);
    }
    renameSync(file, `${file}.20260101-000000`); // kubelet-style rotation
    writeFileSync(file, '');
    while (written < 3500) {
      writeSome(100);
      await pause(20);
    }
    expect(await agent.kill('SIGKILL')).toBe(null);
    while (written < 4500) writeSome(100); // written while the agent is down
    agent = startVigil(agentArgs);
    procs.push(agent);
    await agent.waitFor((l) => l['msg'] === 'connected to aggregator');
    while (written < total) {
      writeSome(100);
      await pause(20);
    }
    await pause(3000); // rotateWait and a few windows
    const code = await agent.kill('SIGTERM');
    expect(code, JSON.stringify(agent.lines.slice(-4))).toBe(0);
    expect(await agg.kill('SIGTERM')).toBe(0);
    expect(await countedLines(aggDir, 'api-1')).toBe(total);
    rmSync(host, { recursive: true, force: true });
  });
});
