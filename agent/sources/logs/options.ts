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
   * How often the directory tree is listed. Polling is the truth (watches are unreliable on hostPath). A new
   * file is read at the first poll after the next listing: 800 ms + a 200 ms poll loop = within a second.
   */
  discoveryIntervalMs: z.number().int().min(10).max(1000).default(800),
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
   * A live file that gave less than 4 KiB in a poll is read again after a delay that doubles from 100 ms up
   * to this (adaptive polling: keeps the cost of many quiet files low; bounds their extra latency).
   * 0 reads every file at every poll.
   */
  idleReadDelayMs: z.number().int().min(0).max(1000).default(1000),
  /** Idle live files are fstat-ed for truncation at most this often. */
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
