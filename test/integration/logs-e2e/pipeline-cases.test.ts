// The hard cases through the agent's whole log path in this process — real files, the real tailer, the
// mining worker, window summaries and the LMDB outbox — counted the way the aggregator sees them: the template
// counts of the summaries must add up to the lines written, once each. (The tailer's own tests check the same
// cases line by line; the SIGKILL case through real processes is exactly-once.test.ts.)
import { spawn } from 'node:child_process';
import { appendFileSync, rmSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { create, toBinary } from '@bufbuild/protobuf';
import { afterEach, describe, expect, it } from 'vitest';
import { Outbox } from '../../../agent/buffer/outbox.ts';
import { SummarySchema } from '../../../proto/gen/vigil/v1/summary_pb.js';
import { tempDir } from '../../support/in-process.ts';
import { criLine } from '../logs-tail/fixtures/lines.ts';
import { podLogDir } from '../logs-tail/helpers.ts';
import { startPipeline } from './start-pipeline.ts';

const writerScript = join(import.meta.dirname, '../logs-tail/fixtures/rotating-writer.ts');
const pause = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** The agent's log path on `host` (polling every `pollIntervalMs`), with what its summaries counted per pod. */
async function openPath(host: string, pollIntervalMs = 20) {
  const { store, pipeline } = await startPipeline(
    join(tempDir('pipe-state'), 'agent.mdb'),
    host,
    1000,
    pollIntervalMs,
  );
  const outbox = new Outbox(store.root, { maxBytes: 1 << 28 });
  const perPod = new Map<string, number>();
  let total = 0;
  /** Closes a window as the agent does: its summary and the offsets go to the outbox in one transaction. */
  const window = async () => {
    const w = await pipeline.closeWindow();
    for (const l of w.logs) {
      const sum = l.counts?.reduce((a, c) => a + (c.count ?? 0), 0) ?? 0;
      // Every line of the window is under exactly one template.
      expect(sum).toBe(Number(l.lines));
      const pod = l.subject?.pod ?? '';
      perPod.set(pod, (perPod.get(pod) ?? 0) + sum);
      total += sum;
    }
    await outbox.append(() => toBinary(SummarySchema, create(SummarySchema, { node: 'n1', logs: w.logs })), {
      alsoWrite: w.alsoWrite,
    });
  };
  /** Windows until `expected` lines are counted and a few more windows add nothing. */
  const countUntil = async (expected: number, deadlineMs = 60_000) => {
    const deadline = Date.now() + deadlineMs;
    while (total < expected && Date.now() < deadline) {
      await pause(100);
      await window();
    }
    for (let i = 0; i < 5; i++) {
      await pause(100);
      await window();
    }
    return total;
  };
  const close = async () => {
    await pipeline.stop();
    await store.root.close();
  };
  return {
    window,
    countUntil,
    perPod,
    total: () => total,
    bytesRead: () => pipeline.stats().bytesRead,
    close,
  };
}

type LogPath = Awaited<ReturnType<typeof openPath>>;

describe('every line counted once in the summaries', () => {
  let path: LogPath | undefined;
  let host = '';
  afterEach(async () => {
    await path?.close();
    path = undefined;
    rmSync(host, { recursive: true, force: true });
  });

  for (const mode of ['rename', 'copytruncate'] as const) {
    it(`across ${mode} rotations under continuous writes`, async () => {
      host = tempDir('pipe-host');
      const file = join(podLogDir(host, 'default', `writer-${mode}`), '0.log');
      const ackPath = join(host, 'ack');
      writeFileSync(file, '');
      const p = await openPath(host);
      path = p;
      const count = 12_000;
      // The writer rotates only once what it wrote before the last rotation was counted, keeping two
      // rotated files, so no file is deleted unread.
      const child = spawn(
        process.execPath,
        [
          writerScript,
          JSON.stringify({
            path: file,
            count,
            mode,
            rotateEvery: 2000,
            keep: 2,
            ackPath,
            burst: 100,
            pauseMs: 25,
          }),
        ],
        { stdio: ['ignore', 'pipe', 'inherit'] },
      );
      let out = '';
      child.stdout.on('data', (c: Buffer) => {
        out += c.toString();
      });
      let exited = false;
      const exit = new Promise<number | null>((resolve) =>
        child.on('close', (code) => {
          exited = true;
          resolve(code);
        }),
      );
      const deadline = Date.now() + 90_000;
      while (!exited && Date.now() < deadline) {
        await pause(100);
        await p.window();
        writeFileSync(ackPath, String(p.total() - 1));
      }
      expect(await exit).toBe(0);
      expect(Number(/rotations (\d+)/.exec(out)?.[1])).toBeGreaterThanOrEqual(2);
      expect(await p.countUntil(count)).toBe(count);
    });
  }

  it('with partial CRI lines and a line whose newline arrives later', async () => {
    host = tempDir('pipe-host');
    const file = join(podLogDir(host, 'ns', 'partial'), '0.log');
    writeFileSync(file, '');
    const p = await openPath(host);
    path = p;
    let logical = 0;
    for (let i = 0; i < 300; i++) {
      if (i % 3 === 0) {
        // One logical line in three P pieces and a final F.
        appendFileSync(
          file,
          criLine(i, 'stdout', 'P') + criLine(i, 'stdout', 'P') + criLine(i, 'stdout', 'F'),
        );
      } else {
        const line = criLine(i);
        appendFileSync(file, line.slice(0, 20));
        if (i % 50 === 1) await p.window(); // a window closes while the line is incomplete
        appendFileSync(file, line.slice(20));
      }
      logical++;
    }
    expect(await p.countUntil(logical)).toBe(logical);
  });

  it('with a 10 MB line, whole or in pieces, among ordinary lines', async () => {
    host = tempDir('pipe-host');
    const file = join(podLogDir(host, 'ns', 'huge'), '0.log');
    const huge = 'x'.repeat(10 * 1024 * 1024);
    const ts = '2024-01-01T00:00:00.000000000Z';
    writeFileSync(
      file,
      `${criLine(0)}${ts} stdout F ${huge}\n${criLine(1)}` +
        `${ts} stdout P ${huge.slice(0, 5_000_000)}\n${ts} stdout F ${huge.slice(5_000_000)}\n${criLine(2)}`,
    );
    const p = await openPath(host);
    path = p;
    expect(await p.countUntil(5)).toBe(5);
  });

  it('with binary junk and invalid UTF-8 between valid lines', async () => {
    host = tempDir('pipe-host');
    const file = join(podLogDir(host, 'ns', 'junk'), '0.log');
    let state = 7;
    const rand = () => {
      state = (state * 1103515245 + 12345) & 0x7fffffff;
      return state;
    };
    const parts: Buffer[] = [];
    let newlines = 0;
    for (let seq = 0; seq < 400; seq++) {
      parts.push(Buffer.from(criLine(seq)));
      const junk = Buffer.alloc(1 + (rand() % 200));
      for (let i = 0; i < junk.length; i++) junk[i] = rand() % 256;
      for (const b of junk) if (b === 0x0a) newlines++;
      parts.push(junk, Buffer.from('\n'));
      parts.push(
        Buffer.from('2024-01-01T00:00:00Z stdout F bad utf8 '),
        Buffer.from([0xc3, 0x28, 0xff, 0x0a]),
      );
      newlines += 3;
    }
    writeFileSync(file, Buffer.concat(parts));
    const p = await openPath(host);
    path = p;
    // Junk is not dropped silently: each newline-terminated piece is a (counted) line of its own.
    expect(await p.countUntil(newlines)).toBe(newlines);
  });

  it('when the file is deleted with its pod while being read', async () => {
    host = tempDir('pipe-host');
    const dir = podLogDir(host, 'ns', 'gone');
    let text = '';
    for (let i = 0; i < 200_000; i++) text += criLine(i);
    writeFileSync(join(dir, '0.log'), text);
    const p = await openPath(host);
    path = p;
    // The regular polls read 512 KiB each: the deletion comes mid-file.
    while (p.bytesRead() === 0) await pause(2);
    expect(p.bytesRead()).toBeLessThan(text.length);
    rmSync(dirname(dir), { recursive: true });
    expect(await p.countUntil(200_000)).toBe(200_000);
  });

  it('in the window it was written in: a closing window first reads what the files hold', async () => {
    host = tempDir('pipe-close');
    // No poll of its own after the first one: only the window closes read.
    const p = await openPath(host, 600_000);
    path = p;
    await pause(200);
    const file = join(podLogDir(host, 'ns', 'late'), '0.log');
    writeFileSync(file, criLine(0) + criLine(1) + criLine(2));
    await p.window();
    expect([...p.perPod]).toEqual([['late', 3]]);
    appendFileSync(file, criLine(3));
    await pause(50); // its inotify event reaches the tailer (a file at its end sleeps until one does)
    await p.window();
    expect(p.total()).toBe(4);
  });

  it('over a thousand files, each counted as its own stream', async () => {
    host = tempDir('pipe-host');
    const files: string[] = [];
    for (let f = 0; f < 1000; f++) {
      const file = join(podLogDir(host, 'ns', `pod-${f}`), '0.log');
      let text = '';
      for (let i = 0; i < 20; i++) text += criLine(f * 1000 + i);
      writeFileSync(file, text);
      files.push(file);
    }
    const p = await openPath(host);
    path = p;
    await p.countUntil(20_000);
    for (const [f, file] of files.entries()) {
      let text = '';
      for (let i = 20; i < 30; i++) text += criLine(f * 1000 + i);
      appendFileSync(file, text);
    }
    expect(await p.countUntil(30_000)).toBe(30_000);
    expect(p.perPod.size).toBe(1000);
    expect([...p.perPod.values()].every((n) => n === 30)).toBe(true);
  });
});
