// A log signal carries the exemplar lines it cites although the window summaries from the mining worker carry
// only each template's first line: the pipeline asks the worker for the rest while it closes the window. Real
// files, tailer, mining worker and LMDB.
import { appendFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { EVIDENCE_MAX_LINES } from '../../../common/signal.ts';
import { tempDir } from '../../support/in-process.ts';
import { podLogDir } from '../logs-tail/helpers.ts';
import { startPipeline } from './start-pipeline.ts';

const WARMUP = 3;
let seq = 0;
const cri = (text: string) => `2026-01-01T00:00:00.${String(++seq).padStart(9, '0')}Z stdout F ${text}\n`;

describe('log signal evidence', () => {
  const dirs: string[] = [];
  afterEach(() => {
    for (const d of dirs.splice(0)) rmSync(d, { recursive: true, force: true });
  });

  it('cites the first lines of the window for a new template and for an error jump, across batches', async () => {
    const host = tempDir('evidence-host');
    const state = tempDir('evidence-state');
    dirs.push(host, state);
    const file = join(podLogDir(host, 'shop', 'api-1', 'api'), '0.log');
    writeFileSync(file, '');
    const { store, pipeline, signals } = await startPipeline(join(state, 'agent.mdb'), host, WARMUP);
    try {
      const close = async () => {
        const w = await pipeline.closeWindow();
        await store.root.transaction(() => w.alsoWrite());
      };
      for (let i = 0; i < WARMUP + 2; i++) {
        appendFileSync(file, [0, 1, 2].map((k) => cri(`GET /api/items/${i * 3 + k} 200 ok`)).join(''));
        await close();
      }
      expect(signals).toEqual([]);
      const failures = Array.from({ length: 14 }, (_, i) => `ERROR payment failed for order ${i}: timeout`);
      // Two batches: the first lines once a regular poll has read them (a trickling file waits for the next
      // close or about 5 s), then the rest, read by the close.
      appendFileSync(file, failures.slice(0, 3).map(cri).join(''));
      const before = pipeline.stats().records;
      for (let i = 0; i < 500 && pipeline.stats().records === before; i++) await sleep(20);
      expect(pipeline.stats().records - before).toBe(3);
      appendFileSync(file, failures.slice(3).map(cri).join(''));
      await close();
      const kinds = signals.map((s) => s.kind).sort();
      expect(kinds).toEqual(['log.error_rate_jump', 'log.new_template']);
      for (const s of signals) expect(s.evidence?.lines).toEqual(failures.slice(0, EVIDENCE_MAX_LINES));
    } finally {
      await pipeline.stop();
      await store.root.close();
    }
  });
});

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
