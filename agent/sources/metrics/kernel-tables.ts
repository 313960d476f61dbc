// Kernel tables with a limit: open files (/proc/sys/fs/file-nr), threads against pid_max, conntrack entries.

export interface FileNr {
  /** File handles allocated (in use: the kernel has reported 0 free since 2.6). */
  allocated: number;
  free: number;
  /** fs.file-max; on recent kernels LONG_MAX, i.e. no practical limit. */
  max: number;
}

export function parseFileNr(text: string): FileNr | undefined {
  const [allocated, free, max] = text.trim().split(/\s+/).map(Number);
  if (allocated === undefined || free === undefined || max === undefined) return undefined;
  if (!Number.isFinite(allocated) || !Number.isFinite(free) || !Number.isFinite(max)) return undefined;
  return { allocated, free, max };
}

/** Limits at or past 2^53 (LONG_MAX for "unlimited") cannot be exhausted: they report no capacity. */
export function finiteCapacity(limit: number | undefined): number | undefined {
  return limit !== undefined && Number.isFinite(limit) && limit > 0 && limit < 2 ** 53 ? limit : undefined;
}
