// The two log tailing scenarios as functions, so other benchmarks (the integrator's end-to-end one) can
// run them with their own consumer, e.g. the template miner: `throughput(lines, () => minerConsumer())`.
import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { LogTailer } from '../../agent/sources/logs/tailer.ts';
import type { LogRecord } from '../../agent/sources/logs/types.ts';
import { emptyPodFiles, podFile } from './bench-pipeline.ts';
import { startWriter } from './writer.ts';

/** What the tailer feeds. The integrator plugs the miner in here; `count` is the placeholder. */
export type Consumer = (records: LogRecord[]) => void;

export type ConsumerFactory = () => { consume: Consumer; result: () => number };

export const consumers: Record<'count' | 'text', ConsumerFactory> = {
  count: () => {
    let n = 0;
    return {
      consume: (rs) => {
        n += rs.length;
      },
      result: () => n,
    };
  },
  // Touches every message (as any real consumer must): total characters.
  text: () => {
    let n = 0;
    return {
      consume: (rs) => {
        for (const r of rs) n += r.text.length;
      },
      result: () => n,
    };
  },
};

export interface ThroughputRow {
  run: number;
  lines: number;
  records: number;
  mb: number;
  wallS: number;
  cpuS: number;
  linesPerSec: number;
  linesPerCpuSec: number;
  mbPerSec: number;
  rssMb: number;
  rssBaseMb: number;
  wcCpuS: number;
  wcLinesPerCpuSec: number;
  wcMbPerCpuSec: number;
}

/** `wc -l` on the file: its CPU seconds (user + sys) from /usr/bin/time, and its line count. */
function wc(path: string): { lines: number; cpuS: number } {
  const r = spawnSync('/usr/bin/time', ['-f', '%U %S', 'wc', '-l', path], { encoding: 'utf8' });
  const [user, sys] = r.stderr.trim().split(/\s+/).slice(-2).map(Number) as [number, number];
  return { lines: Number(r.stdout.trim().split(/\s+/)[0]), cpuS: user + sys };
}

/** One big CRI file → tail → parse → consumer, three runs, with `wc -l` on the same file each run. */
export async function throughput(
  lineCount: number,
  makeConsumer: ConsumerFactory,
  pollBytes: number,
): Promise<ThroughputRow[]> {
  const hostRoot = mkdtempSync(join(tmpdir(), 'vigil-bench-logs-'));
  try {
    const path = podFile(hostRoot, 'big');
    spawnSync(process.execPath, [join(import.meta.dirname, 'fixtures.ts'), path, String(lineCount)], {
      stdio: 'inherit',
    });
    const bytes = statSync(path).size;
    const physical = wc(path).lines;
    const rows: ThroughputRow[] = [];
    for (let run = 1; run <= 3; run++) {
      // wc -l over a cached file takes ~0.05 CPU s: time 10 passes so /usr/bin/time's 10 ms grain does not matter.
      let wcCpuS = 0;
      for (let i = 0; i < 10; i++) wcCpuS += wc(path).cpuS;
      wcCpuS /= 10;
      const { consume, result } = makeConsumer();
      const tailer = new LogTailer({ hostRoot, hostGlobs: [] });
      const rssBase = process.memoryUsage.rss();
      let rss = rssBase;
      let records = 0;
      const cpu0 = process.cpuUsage();
      const t0 = process.hrtime.bigint();
      let lines = 0;
      while (lines < physical) {
        const res = await tailer.poll(pollBytes);
        consume(res.records);
        records += res.records.length;
        lines = tailer.stats().lines;
        rss = Math.max(rss, process.memoryUsage.rss());
      }
      const wallS = Number(process.hrtime.bigint() - t0) / 1e9;
      const cpu = process.cpuUsage(cpu0);
      const cpuS = (cpu.user + cpu.system) / 1e6;
      result();
      await tailer.close();
      rows.push({
        run,
        lines,
        records,
        mb: bytes / 1e6,
        wallS,
        cpuS,
        linesPerSec: lines / wallS,
        linesPerCpuSec: lines / cpuS,
        mbPerSec: bytes / 1e6 / wallS,
        rssMb: rss / 1e6,
        rssBaseMb: rssBase / 1e6,
        wcCpuS,
        wcLinesPerCpuSec: physical / wcCpuS,
        wcMbPerCpuSec: bytes / 1e6 / wcCpuS,
      });
    }
    return rows;
  } finally {
    rmSync(hostRoot, { recursive: true, force: true });
  }
}

/** Polling before the measured span of a many-files scenario. */
const FILES_WARMUP_MS = 3000;

export interface FilesRow {
  /** Whose tailer code ran (`--before`/`--after` checkouts, or this one). */
  source: string;
  changeDetection: 'watch' | 'poll';
  files: number;
  perFileRate: number;
  totalRate: number;
  maxOpenFiles: number;
  seconds: number;
  written: number;
  read: number;
  cpuPercent: number;
  cpuUsPerLine: number;
  rssMb: number;
  /** File reads (`pread`s of data) per second in the measured span; null for code without the counter. */
  readsPerSecond: number | null;
}

/** The tailer class of some checkout (before/after figures load another tree's code). */
export type TailerClass = typeof LogTailer;

/**
 * `files` files appended at `perFileRate` lines/s each by a child process; the tailer's CPU and RSS.
 * `changeDetection: 'poll'` is the tailer as it was before directory watches (the before/after figure).
 */
export async function manyFiles(
  files: number,
  perFileRate: number,
  seconds: number,
  maxOpenFiles: number,
  changeDetection: 'watch' | 'poll' = 'watch',
  Tailer: TailerClass = LogTailer,
  source = 'this checkout',
): Promise<FilesRow> {
  const hostRoot = mkdtempSync(join(tmpdir(), 'vigil-bench-files-'));
  try {
    const paths = emptyPodFiles(hostRoot, files);
    const tailer = new Tailer({ hostRoot, hostGlobs: [], maxOpenFiles, changeDetection });
    const fileReads = () => (tailer.stats() as { fileReads?: number }).fileReads;
    await tailer.poll();
    const writer = startWriter(paths, perFileRate, seconds + FILES_WARMUP_MS / 1000);
    const exited = writer.exited;
    let finished = false;
    void exited.then(() => {
      finished = true;
    });
    let read = 0;
    let rss = 0;
    // The agent's loop: poll every 200 ms, at once again while a poll reports more. Measured after a
    // warm-up (start-up listings, watches, JIT) so the figure is the steady state.
    const loop = async (until: () => boolean) => {
      while (!until()) {
        const res = await tailer.poll();
        read += res.records.length;
        rss = Math.max(rss, process.memoryUsage.rss());
        if (!res.more) await new Promise((r) => setTimeout(r, 200));
      }
    };
    const warmupEnd = Date.now() + FILES_WARMUP_MS;
    await loop(() => finished || Date.now() >= warmupEnd);
    const reads0 = fileReads();
    const cpu0 = process.cpuUsage();
    const t0 = Date.now();
    await loop(() => finished);
    const wallMs = Date.now() - t0;
    const cpu = process.cpuUsage(cpu0);
    const reads1 = fileReads();
    const written = writer.written();
    // Drain: a trickling file's last lines may wait up to idleReadDelayMs (2 s) for their read.
    for (let i = 0; i < 100 && read < written; i++) {
      read += (await tailer.poll()).records.length;
      await new Promise((r) => setTimeout(r, 50));
    }
    await tailer.close();
    const cpuUs = cpu.user + cpu.system;
    return {
      source,
      changeDetection,
      files,
      perFileRate,
      totalRate: files * perFileRate,
      maxOpenFiles,
      seconds: wallMs / 1000,
      written,
      read,
      cpuPercent: (cpuUs / 1000 / wallMs) * 100,
      // Lines written in the measured span (the writer is paced).
      cpuUsPerLine: written > 0 ? cpuUs / (files * perFileRate * (wallMs / 1000)) : 0,
      rssMb: rss / 1e6,
      readsPerSecond:
        reads0 === undefined || reads1 === undefined ? null : (reads1 - reads0) / (wallMs / 1000),
    };
  } finally {
    rmSync(hostRoot, { recursive: true, force: true });
  }
}
