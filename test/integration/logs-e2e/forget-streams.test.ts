// A stream unseen for an hour (its pod is gone) is forgotten everywhere: its miner in the worker and its saved
// miner state too, also when it was only restored at a restart and never showed up again. Otherwise an agent on
// a node where pods come and go keeps (and restores at every restart) a miner for every container it ever saw.
// Real files, tailer, mining worker and LMDB; the hour passes on a faked Date (timers stay real).
import { appendFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterEach, describe, expect, it, vi } from 'vitest';
import type { MinerSnapshot } from '../../../agent/detect/logs/miner.ts';
import { tempDir } from '../../support/in-process.ts';
import { podLogDir } from '../logs-tail/helpers.ts';
import { startPipeline } from './start-pipeline.ts';

const HOUR_AND_A_BIT = 61 * 60_000;
let seq = 0;
const cri = (text: string) => `2026-01-01T00:00:00.${String(++seq).padStart(9, '0')}Z stdout F ${text}\n`;

describe('forgetting streams whose pod is gone', () => {
  const dirs: string[] = [];
  afterEach(() => {
    vi.useRealTimers();
    for (const d of dirs.splice(0)) rmSync(d, { recursive: true, force: true });
  });

  async function start(state: string, host: string) {
    const p = await startPipeline(join(state, 'agent.mdb'), host, 0);
    const miners = p.store.root.openDB<MinerSnapshot, string>({ name: 'log-miners', encoding: 'msgpack' });
    const close = async () => {
      const w = await p.pipeline.closeWindow();
      await p.store.root.transaction(() => w.alsoWrite());
    };
    const stop = async () => {
      await p.pipeline.stop();
      await p.store.root.close();
    };
    return { ...p, miners: () => [...miners.getKeys({})], close, stop };
  }

  it('drops the miner and its saved state of a stream unseen for an hour, and of one restored but never seen', async () => {
    const host = tempDir('forget-host');
    const state = tempDir('forget-state');
    dirs.push(host, state);
    const gone = join(podLogDir(host, 'shop', 'job-1', 'job'), '0.log');
    const alive = join(podLogDir(host, 'shop', 'api-1', 'api'), '0.log');
    writeFileSync(gone, cri('ERROR batch 1 failed: quota exceeded'));
    writeFileSync(alive, cri('GET /api/items/1 200 ok'));

    vi.useFakeTimers({ toFake: ['Date'], shouldAdvanceTime: true });
    const later = () => vi.setSystemTime(Date.now() + HOUR_AND_A_BIT);
    const first = await start(state, host);
    await first.close();
    expect(first.signals.map((s) => s.kind)).toEqual(['log.new_template', 'log.new_template']);
    expect(first.miners()).toEqual(['shop/api-1/api', 'shop/job-1/job']);
    // An hour later only api-1 has logged: job-1's stream is forgotten, saved state included.
    later();
    appendFileSync(alive, cri('GET /api/items/2 200 ok'));
    await first.close();
    expect(first.miners()).toEqual(['shop/api-1/api']);
    // Its miner is gone from the worker too: the same line is a new template again.
    appendFileSync(gone, cri('ERROR batch 2 failed: quota exceeded'));
    await first.close();
    const again = first.signals.slice(2);
    expect(again.map((s) => [s.kind, s.subject.pod])).toEqual([['log.new_template', 'job-1']]);
    await first.stop();

    // After a restart both miners are restored; api-1 never logs again, job-1 does.
    const second = await start(state, host);
    expect(second.miners()).toEqual(['shop/api-1/api', 'shop/job-1/job']);
    later();
    appendFileSync(gone, cri('ERROR batch 3 failed: quota exceeded'));
    await second.close();
    expect(second.signals).toEqual([]);
    expect(second.miners()).toEqual(['shop/job-1/job']);
    await second.stop();
  });
});
