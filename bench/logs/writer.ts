// Starts the writer child (writer-child.ts): it appends CRI lines to every path at `perFileRate` lines/s for
// `seconds`, in its own process so its CPU is not the measured one, and prints how many lines it wrote.
import { spawn } from 'node:child_process';
import { join } from 'node:path';

export interface RunningWriter {
  /** Resolves when the writer has exited. */
  exited: Promise<void>;
  /** Lines written (valid once `exited` resolved). */
  written(): number;
}

export function startWriter(paths: readonly string[], perFileRate: number, seconds: number): RunningWriter {
  const args = [
    join(import.meta.dirname, 'writer-child.ts'),
    JSON.stringify(paths),
    String(perFileRate),
    String(seconds),
  ];
  // VIGIL_BENCH_WRITER_CPU=0 runs the writer on another core than a `taskset -c 1` measured process, so the
  // two do not take turns on one core (which changes how much each poll finds, hence the measured cost).
  const cpu = process.env.VIGIL_BENCH_WRITER_CPU;
  const child =
    cpu === undefined || cpu === ''
      ? spawn(process.execPath, args, { stdio: ['ignore', 'pipe', 'inherit'] })
      : spawn('taskset', ['-c', cpu, process.execPath, ...args], { stdio: ['ignore', 'pipe', 'inherit'] });
  let out = '';
  child.stdout.on('data', (c: Buffer) => {
    out += c.toString();
  });
  const exited = new Promise<void>((r) => child.on('exit', () => r()));
  return { exited, written: () => Number(out.trim() || '0') };
}
