// Real agent and aggregator processes for integration tests, started through the CLI exactly as in
// production, with helpers to wait for what they log.
import { type ChildProcess, spawn } from 'node:child_process';

export { freePort } from '../../common/net/free-port.ts';

export interface Proc {
  child: ChildProcess;
  lines: unknown[];
  /** Resolves with the first JSON log line matching `pred`. */
  waitFor(
    pred: (line: Record<string, unknown>) => boolean,
    timeoutMs?: number,
  ): Promise<Record<string, unknown>>;
  /** Sends a signal and resolves with the exit code once the process is gone. */
  kill(signal: NodeJS.Signals): Promise<number | null>;
}

export function startVigil(args: string[], env: Record<string, string> = {}): Proc {
  const child = spawn(process.execPath, ['cli/main.ts', ...args], {
    env: { ...process.env, ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  const lines: Record<string, unknown>[] = [];
  const waiters: Array<{
    pred: (l: Record<string, unknown>) => boolean;
    resolve: (l: Record<string, unknown>) => void;
  }> = [];
  let buffered = '';
  child.stderr!.setEncoding('utf8').on('data', (chunk: string) => {
    buffered += chunk;
    let nl = buffered.indexOf('\n');
    while (nl >= 0) {
      const text = buffered.slice(0, nl);
      buffered = buffered.slice(nl + 1);
      nl = buffered.indexOf('\n');
      try {
        const line = JSON.parse(text) as Record<string, unknown>;
        lines.push(line);
        for (const w of waiters.splice(0)) {
          if (w.pred(line)) w.resolve(line);
          else waiters.push(w);
        }
      } catch {
        lines.push({ raw: text });
      }
    }
  });
  child.stdout!.resume();
  const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
  return {
    child,
    lines,
    waitFor(pred, timeoutMs = 45_000) {
      const seen = lines.find(pred);
      if (seen) return Promise.resolve(seen);
      return new Promise((resolve, reject) => {
        const timer = setTimeout(
          () =>
            reject(
              new Error(
                `timed out waiting for a log line; last lines:\n${lines
                  .slice(-8)
                  .map((l) => JSON.stringify(l))
                  .join('\n')}`,
              ),
            ),
          timeoutMs,
        );
        waiters.push({
          pred,
          resolve: (l) => {
            clearTimeout(timer);
            resolve(l);
          },
        });
      });
    },
    async kill(signal) {
      if (child.exitCode === null && child.signalCode === null) child.kill(signal);
      return exited;
    },
  };
}

/**
 * Polls `check` until it returns a truthy value or the deadline passes. Deadlines here are generous: a loaded
 * CI machine starts processes slowly, and a passing test never waits for them.
 */
export async function eventually<T>(
  check: () => T | Promise<T>,
  timeoutMs = 45_000,
  what = 'condition',
): Promise<NonNullable<Awaited<T>>> {
  const deadline = Date.now() + timeoutMs;
  let last: unknown;
  for (;;) {
    try {
      const v = await check();
      if (v) return v as NonNullable<Awaited<T>>;
    } catch (error) {
      last = error;
    }
    if (Date.now() > deadline)
      throw new Error(`timed out waiting for ${what}${last ? `: ${String(last)}` : ''}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}
