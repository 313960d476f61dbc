// Saved log state that decodes but is not what this version wrote (another version's record, or damage that
// still decodes) must not stop the agent or lose lines: a checkpoint that cannot be resumed from is dropped and
// its file read from the start, a miner snapshot that cannot be restored is dropped and its stream learns anew.
import { statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import type { LogPipeline } from '../../../agent/pipeline/log-pipeline.ts';
import { openLmdb } from '../../../common/store/lmdb.ts';
import { quietLogger, tempDir } from '../../support/in-process.ts';
import { criLine } from '../logs-tail/fixtures/lines.ts';
import { podLogDir } from '../logs-tail/helpers.ts';
import { startPipeline } from './start-pipeline.ts';

let running: { pipeline: LogPipeline; close(): Promise<void> } | undefined;
afterEach(async () => {
  await running?.close();
  running = undefined;
});

describe('damaged saved log state', () => {
  it('drops what cannot be resumed from, and still counts every line once', async () => {
    const host = tempDir('damaged-host');
    const file = join(podLogDir(host, 'shop', 'api-1', 'api'), '0.log');
    const lines = 200;
    writeFileSync(file, Array.from({ length: lines }, (_, i) => criLine(i)).join(''));
    const st = statSync(file);
    const dbPath = join(tempDir('damaged-state'), 'agent.mdb');
    const seeded = openLmdb(dbPath, quietLogger);
    const checkpoints = seeded.root.openDB<unknown, string>({ name: 'log-checkpoints', encoding: 'msgpack' });
    const miners = seeded.root.openDB<unknown, string>({ name: 'log-miners', encoding: 'msgpack' });
    // This very file's checkpoint, with an offset that is no offset (it would be read at NaN, never again).
    await checkpoints.put(`${st.dev}:${st.ino}`, { path: file, offset: 'x', fingerprint: '', updatedMs: 0 });
    await checkpoints.put('not-a-file-key', 42);
    await miners.put('shop/api-1/api', { nonsense: true });
    await seeded.root.close();

    const { store, pipeline } = await startPipeline(dbPath, host, 1000);
    running = {
      pipeline,
      async close() {
        await pipeline.stop();
        await store.root.close();
      },
    };
    let counted = 0;
    const deadline = Date.now() + 30_000;
    while (counted < lines && Date.now() < deadline) {
      await new Promise((r) => setTimeout(r, 100));
      const w = await pipeline.closeWindow();
      counted += w.logs.reduce((n, l) => n + Number(l.lines), 0);
    }
    expect(counted).toBe(lines);
    // The unreadable records are gone from the store, so the next start does not meet them again.
    const after = store.root.openDB<unknown, string>({ name: 'log-checkpoints', encoding: 'msgpack' });
    expect(after.get('not-a-file-key')).toBeUndefined();
    expect(after.get(`${st.dev}:${st.ino}`)).toBeUndefined();
    expect(
      store.root.openDB<unknown, string>({ name: 'log-miners', encoding: 'msgpack' }).get('shop/api-1/api'),
    ).toBeUndefined();
  });
});
