// Counters every part of the log source increments; `LogTailer.stats()` reports a copy.

export interface TailCounters {
  /** Bytes consumed from files (includes skipped bytes of over-long lines). */
  bytesRead: number;
  /** Reads of file data (`pread`s): with many trickling files this, not bytes, drives the CPU cost. */
  fileReads: number;
  /** Physical lines (newline-terminated, or flushed at EOF after rotation). */
  lines: number;
  /** Records returned (after CRI/docker reassembly). */
  records: number;
  /** Records cut at maxLineBytes. */
  truncations: number;
  /** Lines that were not valid CRI/docker and were passed through as raw text. */
  parseErrors: number;
  /** Reassemblies cut short because records of the other stream queued up behind them. */
  partialsCut: number;
  /** Unterminated last lines emitted when a rotated or deleted file was let go. */
  unterminatedFlushed: number;
  /** Files that left their path by a rename within their directory (rename rotation). */
  rotations: number;
  /** Same inode shrank below our offset (copytruncate or truncation). */
  copytruncates: number;
  /** Of those, how many had their unread tail recovered from the rotated copy. */
  copytruncateTailsRecovered: number;
  /** Files let go after draining (rotated away or deleted). */
  filesReleased: number;
  /** Files that vanished while closed before we could drain them; bytesLost estimates what was unread. */
  filesLost: number;
  bytesLost: number;
  /** Inode seen again with different leading bytes: a new file, read from 0. */
  inodeReuses: number;
  /** Descriptors closed to stay under maxOpenFiles, and reopened later. */
  fdEvictions: number;
  fdReopens: number;
  /** I/O errors on individual files (the file is retried at the next discovery). */
  readErrors: number;
  /** Tree listings (event-driven, polled or sweeps) and, of those, full safety sweeps (watch mode). */
  discoveries: number;
  sweeps: number;
  /** Polled discoveries skipped because no polled directory changed (no listing, no walk). */
  listingsSkipped: number;
  /** Polled directories' listings checked by a stat (each as often as its files are read). */
  polledDirChecks: number;
  /** inotify events received; directories that could not be watched (or whose watch failed). */
  watchEvents: number;
  watchFailures: number;
  /** Watched directories switched to polling because their watch fired often (busy files). */
  watchesToPolling: number;
  /** New bytes found by a sweep read that no watch event announced (a missed or lost event). */
  missedChanges: number;
}

export function newCounters(): TailCounters {
  return {
    bytesRead: 0,
    fileReads: 0,
    lines: 0,
    records: 0,
    truncations: 0,
    parseErrors: 0,
    partialsCut: 0,
    unterminatedFlushed: 0,
    rotations: 0,
    copytruncates: 0,
    copytruncateTailsRecovered: 0,
    filesReleased: 0,
    filesLost: 0,
    bytesLost: 0,
    inodeReuses: 0,
    fdEvictions: 0,
    fdReopens: 0,
    readErrors: 0,
    discoveries: 0,
    sweeps: 0,
    listingsSkipped: 0,
    polledDirChecks: 0,
    watchEvents: 0,
    watchFailures: 0,
    watchesToPolling: 0,
    missedChanges: 0,
  };
}
