// Log signal baselines survive an agent restart: the pipeline saves them in LMDB at stop (and every few minutes)
// and a restarted pipeline continues from them instead of warming up again, without taking the backlog it
// reads first (lines written while it was down) for a burst. Real files, tailer, mining worker and LMDB.
import { appendFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import type { Signal } from '../../../common/signal.ts';
import { tempDir } from '../../support/in-process.ts';
import { podLogDir } from '../logs-tail/helpers.ts';
import { startPipeline } from './start-pipeline.ts';

const WARMUP = 8;
let seq = 0;
const cri = (text: string) => `2026-01-01T00:00:00.${String(++seq).padStart(9, '0')}Z stdout F ${text}\n`;
const requests = (n: number) => Array.from({ length: n }, (_, i) => cri(`GET /api/items/${seq + i} 200 ok`));
const errors = (n: number) =>
  Array.from({ length: n }, (_, i) => cri(`payment failed for order ${i}: timeout`));

async function open(dbPath: string, host: string) {
  const { store, pipeline, signals } = await startPipeline(dbPath, host, WARMUP);
  let written = pipeline.stats().records;
  /**
   * Appends lines, closes a window (its state commits with it): it holds them (and `alreadyThere` lines
   * written before), since a closing window first reads what the files hold.
   */
  const window = async (file: string, lines: string[], alreadyThere = 0) => {
    if (lines.length > 0) appendFileSync(file, lines.join(''));
    written += lines.length + alreadyThere;
    const w = await pipeline.closeWindow();
    expect(pipeline.stats().records).toBe(written);
    await store.root.transaction(() => w.alsoWrite());
  };
  const close = async () => {
    await pipeline.stop();
    await store.root.close();
  };
  return { window, signals, close, pipeline };
}

describe('log signal baselines across a restart', () => {
  const dirs: string[] = [];
  afterEach(() => {
    for (const d of dirs.splice(0)) rmSync(d, { recursive: true, force: true });
  });

  /** Learns a stream past its warm-up, stops, writes a backlog while down, restarts; then a live error burst. */
  async function scenario(keepState: boolean): Promise<{ backlog: Signal[]; live: Signal[] }> {
    const host = tempDir('baselines-host');
    const state = tempDir('baselines-state');
    dirs.push(host, state);
    const file = join(podLogDir(host, 'shop', 'api-1', 'api'), '0.log');
    writeFileSync(file, '');
    const first = await open(join(state, 'agent.mdb'), host);
    for (let i = 0; i < WARMUP + 4; i++) await first.window(file, [...requests(5), ...errors(1)]);
    expect(first.signals).toEqual([]);
    await first.close();
    // While the agent is down, the container keeps logging: more than usual in one go when read back.
    appendFileSync(file, [...requests(200), ...errors(40)].join(''));
    const again = await open(join(keepState ? state : tempDir('baselines-fresh'), 'agent.mdb'), host);
    // Without the saved offsets, the whole file is read again.
    await again.window(file, [], keepState ? 240 : 240 + (WARMUP + 4) * 6);
    const backlog = [...again.signals];
    await again.window(file, [...requests(5), ...errors(1)]);
    await again.window(file, [...requests(5), ...errors(60)]);
    const live = again.signals.slice(backlog.length);
    await again.close();
    return { backlog, live };
  }

  it('continues from the saved baselines: a live error burst is reported at once, the backlog is not', async () => {
    const { backlog, live } = await scenario(true);
    expect(backlog.map((s) => s.kind)).not.toContain('log.error_rate_jump');
    expect(backlog.map((s) => s.kind)).not.toContain('log.template_burst');
    const jump = live.find((s) => s.kind === 'log.error_rate_jump');
    expect(jump?.subject).toMatchObject({ namespace: 'shop', pod: 'api-1', container: 'api' });
    expect(jump?.explanation).toMatch(/jump to 60/);
  });

  it('without saved baselines the same burst falls in a new warm-up and goes unreported', async () => {
    const { live } = await scenario(false);
    expect(live.map((s) => s.kind)).not.toContain('log.error_rate_jump');
  });
});
