import { z } from 'zod';

// Validated once at construction; every field has a default so `{ hostRoot }` is a complete configuration.

const patterns = z.array(z.string().min(1));

const filterSchema = z.object({
  namespaces: patterns.default([]),
  pods: patterns.default([]),
  containers: patterns.default([]),
});

export const tailerOptionsSchema = z.object({
  /** Where the node's root filesystem is mounted (`/` on a plain host, e.g. `/host` in the DaemonSet). */
  hostRoot: z.string().min(1),
  /** Globs relative to hostRoot (`*`, `?`, `**`) for container log files. */
  containerGlobs: patterns.default(['var/log/pods/*/*/*.log']),
  /** Globs relative to hostRoot for host log files; missing ones are simply not tailed. */
  hostGlobs: patterns.default([
    'var/log/syslog',
    'var/log/messages',
    'var/log/auth.log',
    'var/log/secure',
    'var/log/kern.log',
  ]),
  /** Empty include list = everything. Patterns use `*` and `?`. Exclude wins over include. */
  include: filterSchema.default({ namespaces: [], pods: [], containers: [] }),
  exclude: filterSchema.default({ namespaces: [], pods: [], containers: [] }),
  /**
   * `watch`: inotify (`fs.watch`) on every directory the globs list tells the tailer which files changed
   * and when entries were created, renamed or deleted, so idle files cost nothing per poll; a slow stat
   * sweep (`sweepIntervalMs`) catches what a watch missed, and directories that cannot be watched are
   * polled. `poll`: the tree is listed every `discoveryIntervalMs` and quiet files are read adaptively.
   */
  changeDetection: z.enum(['watch', 'poll']).default('watch'),
  /**
   * `poll` mode (and directories that cannot be watched): how often the tree is listed. A new file is read
   * at the first poll after the next listing: 800 ms + a 200 ms poll loop = within a second. In `watch`
   * mode: how often missing directories (e.g. `var/log/pods` before the first pod) are checked for.
   */
  discoveryIntervalMs: z.number().int().min(10).max(1000).default(800),
  /**
   * `watch` mode's safety net: this often the whole tree is listed stat-gated (as in `poll` mode) and every
   * file waiting for an event is fstat-ed (read if its size moved). Bounds the delay of anything a watch
   * missed (inotify queue overflow, file systems that do not report changes). ~25 ms per 1,000 files.
   */
  sweepIntervalMs: z.number().int().min(100).default(30_000),
  /** Cap on file descriptors held open; idle files are closed and reopened (inode-checked) when they grow. */
  maxOpenFiles: z.number().int().min(2).default(1024),
  /** A message (after CRI/docker reassembly) longer than this is cut with `…[truncated N bytes]`. */
  maxLineBytes: z
    .number()
    .int()
    .min(64)
    .default(64 * 1024),
  /**
   * Default byte budget of one `poll()`: bounds how long one poll blocks the event loop and how many records
   * are alive at once (small batches die young in V8's nursery: 256 KiB–1 MiB measured best, bench/logs).
   */
  pollMaxBytes: z
    .number()
    .int()
    .min(1024)
    .default(512 * 1024),
  /** Bytes read per file per turn; files take turns so one hot file cannot starve the others. */
  readChunkBytes: z
    .number()
    .int()
    .min(4096)
    .default(256 * 1024),
  /** A rotated or deleted file is let go only after it has been at EOF without growth this long. */
  rotateWaitMs: z.number().int().min(0).default(2000),
  /**
   * A live file that is not busy (≥ 4 KiB in a poll, written faster than 16 KiB/s) is read again only after a
   * delay that doubles from 100 ms up to this (coalescing: with many trickling files, what costs is the number of
   * reads — each a `pread`, a parser turn and one batch per stream in the pipeline — not the bytes; a directory
   * polled for its busy files is checked for new files as often as they are read). Bounds how late a trickling
   * file's lines are read between window closes — `pollAll()` at each close reads everything written before it, so
   * no window misses them; once those runs are regular, a file giving ≤ 32 KiB between two of them waits for the
   * next (parked: read once a window). Host logs are read at least every second; a new file, a rotated one and a
   * busy one at once. In `watch` mode the delay spaces the reads of a file that events keep waking. 0 reads every file at
   * every poll (in both modes). At most a 10 s window.
   */
  idleReadDelayMs: z.number().int().min(0).max(10_000).default(5000),
  /** Idle polled live files are fstat-ed for truncation at most this often (watched ones at each wake-up). */
  truncateCheckMs: z.number().int().min(0).default(1000),
  /** How many leading bytes identify a file (inode reuse, truncation while down, copytruncate's copy). */
  fingerprintBytes: z.number().int().min(16).max(4096).default(256),
  /** Files with no checkpoint found at the very first discovery: read from the beginning or the end. */
  startAt: z.enum(['beginning', 'end']).default('beginning'),
  /** Format of container log files. Host files are always raw lines. */
  containerFormat: z.enum(['cri', 'docker', 'auto']).default('auto'),
});

export type TailerOptionsInput = z.input<typeof tailerOptionsSchema>;
export type TailerOptions = z.output<typeof tailerOptionsSchema>;

/** Parses options; an invalid value throws with its path and the reason, e.g. `maxOpenFiles: Too small`. */
export function parseTailerOptions(input: TailerOptionsInput): TailerOptions {
  const result = tailerOptionsSchema.safeParse(input);
  if (!result.success) {
    const detail = result.error.issues.map((i) => `options.${i.path.join('.')}: ${i.message}`).join('; ');
    throw new Error(`invalid log tailer options: ${detail}`);
  }
  return result.data;
}
