// How a process ends at the second signal: at once, even while lmdb's write thread waits on the main thread
// (where process.exit hangs for good, lmdb-js#336).
import { type ChildProcess, spawn } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';

const dirs: string[] = [];
const children: ChildProcess[] = [];
afterAll(() => {
  for (const c of children) if (c.exitCode === null && c.signalCode === null) c.kill('SIGKILL');
  for (const d of dirs) rmSync(d, { recursive: true, force: true });
});

function start(fixture: string, args: string[] = []) {
  const child = spawn(process.execPath, [join('test/fixtures/exit', fixture), ...args], {
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  children.push(child);
  let stdout = '';
  let stderr = '';
  child.stdout!.setEncoding('utf8').on('data', (s: string) => (stdout += s));
  child.stderr!.setEncoding('utf8').on('data', (s: string) => (stderr += s));
  const ended = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>(
    (resolve) => child.once('close', (code, signal) => resolve({ code, signal })), // after its output
  );
  /** How the child ended, or 'running' if it has not within `ms`. */
  const endWithin = (ms: number) =>
    Promise.race([ended, new Promise<'running'>((r) => setTimeout(() => r('running'), ms))]);
  const until = async (pred: () => boolean) => {
    while (!pred()) {
      if (child.exitCode !== null || child.signalCode !== null) throw new Error(`exited early: ${stderr}`);
      await new Promise((r) => setTimeout(r, 20));
    }
  };
  return { child, endWithin, until, stdout: () => stdout, stderr: () => stderr };
}

function storeDir(): string {
  const d = mkdtempSync(join(tmpdir(), 'vigil-exit-'));
  dirs.push(d);
  return join(d, 'store');
}

describe('ending a process at once', () => {
  it('dieOf ends it while an lmdb transaction waits for its callback', async () => {
    const p = start('exit-during-write.ts', [storeDir(), 'die']);
    expect(await p.endWithin(15_000)).toEqual({ code: null, signal: 'SIGTERM' });
    expect(p.stdout()).toBe('exiting\n');
  });

  // The hazard dieOf avoids. If this starts failing, lmdb no longer deadlocks in process.exit and dieOf's
  // reason is gone.
  it('process.exit at the same moment hangs', async () => {
    const p = start('exit-during-write.ts', [storeDir(), 'exit']);
    await p.until(() => p.stdout() === 'exiting\n');
    expect(await p.endWithin(3_000)).toBe('running');
    p.child.kill('SIGKILL');
  });

  it('a second signal ends a service whose stop never finishes', async () => {
    const p = start('stop-hangs.ts');
    await p.until(() => p.stdout() === 'started\n');
    p.child.kill('SIGTERM');
    await p.until(() => p.stderr().includes('"msg":"stopping"'));
    expect(await p.endWithin(1_000)).toBe('running'); // the first signal only asks it to stop
    p.child.kill('SIGINT');
    expect(await p.endWithin(15_000)).toEqual({ code: null, signal: 'SIGINT' });
    expect(p.stderr()).toContain('second signal: exiting now');
  });
});
