import { closeSync, fstatSync, readSync, type Stats } from 'node:fs';
import { dirname } from 'node:path';
import { CriLineParser } from './cri.ts';
import { DockerLineParser } from './docker.ts';
import { fingerprintString, readLeadingBytes } from './fingerprint.ts';
import { ChunkText, type LineParser, type ParseContext } from './line-parser.ts';
import { RawLineParser } from './raw.ts';
import type { CheckpointEntry, LineFormat, LogRecord, StreamKey } from './types.ts';

// One log file, identified by (device, inode), read through a descriptor at explicit byte offsets into a
// shared, reused Buffer. Lines are found with Buffer#indexOf; only complete lines are handed on; a
// trailing partial line is simply re-read on the next turn. The checkpoint offset is always the start of
// the first line (or reassembled record) not yet returned.
// Each read starts a few bytes *before* the read position and compares them with the bytes we last read
// there: a file truncated and regrown past our offset (copytruncate under continuous writes) is caught by
// the same `pread` that reads the new bytes, instead of a second `pread` of the leading bytes at every poll.

const NEWLINE = 10;

/** Bytes before the read position re-read with each read to check they are still the ones we read. */
export const TAIL_CHECK_BYTES = 32;

/**
 * The leading bytes are compared with the fingerprint again at most this often (the tail check catches a
 * truncated-and-regrown file at every read; this is the slower second opinion, and the only check right
 * after a restore, when the bytes before the offset are not known yet).
 */
const LEADING_RECHECK_MS = 60_000;

/** `live`: at its discovered path. `rotated`: renamed away or deleted, drained to its end then let go.
 * `done`: let go, kept only so that rediscovering the same inode does not read it again. */
export type FileState = 'live' | 'rotated' | 'done';

/** What a reader turn found. */
export const TRUNCATED = -1;

/** Size of the shared read buffer: a turn's bytes, at least one physical line past the re-read tail. */
export function readBufferBytes(readChunkBytes: number, physicalCap: number): number {
  return Math.max(readChunkBytes, physicalCap + 1) + TAIL_CHECK_BYTES;
}

/** Buffers shared by all files (one poll runs at a time). */
export interface ReadIo {
  chunk: Buffer;
  fpScratch: Buffer;
  ctx: ParseContext;
  /** Physical line cap: longer lines keep their head and skip the rest (counted as overflow). */
  physicalCap: number;
  fingerprintBytes: number;
  pollId: number;
}

interface LongLine {
  head: Buffer;
  start: number;
  skipped: number;
}

export class TrackedFile {
  readonly key: string;
  readonly dev: number;
  readonly ino: number;
  readonly stream: StreamKey;
  /** Last known path: the discovered one, or the rotated name once found. */
  path: string;
  private dirPath = '';
  private dirName = '';
  state: FileState = 'live';
  fd = -1;
  /** Next byte to read. Always at a line start, except while skipping an over-long line. */
  readPos = 0;
  /** Size at the last stat (discovery or fstat). */
  size = 0;
  /** Leading bytes (up to fingerprintBytes) as read so far. */
  fp: Buffer = Buffer.alloc(0);
  /** Set by discovery when a closed file has bytes we have not read (or shrank). */
  wantsOpen = false;
  /** The poll in which the file last hit EOF (so a poll gives each file at most one EOF handling). */
  eofPoll = -1;
  /** Quiet files are read again only after this time (adaptive polling; 0 = every poll). */
  nextReadMs = 0;
  /** Consecutive polls in which the file gave little: drives the read delay. */
  quietPolls = 0;
  /** Its current read delay (0: read every poll). */
  readDelayMs = 0;
  /** The `pollAll` run that last read it to its end (see LogTailer). */
  allRound = -1;
  /**
   * Waits for the next run of `pollAll` (a trickling file read once a window): see LogTailer.schedule. Its
   * directory's listing is then checked only when the file stops giving data (see polledListingsHold).
   */
  parked = false;
  /** Its last read to the end found nothing new. */
  lastReadEmpty = false;
  /** When a read last reached its end (-1: never): the read rate is measured from there. */
  lastEofMs = -1;
  /** Bytes consumed in poll `pollBytesId`. */
  pollBytes = 0;
  pollBytesId = -1;
  /** When a rotated file was first seen at EOF without growth, -1 when it is not. */
  eofSinceMs = -1;
  lastStatMs = 0;
  private format: LineFormat;
  private parser: LineParser | null = null;
  private long: LongLine | null = null;
  /** The TAIL_CHECK_BYTES (fewer near the start) bytes just before readPos, as read; tailLen 0 = unknown. */
  private tail: Buffer | null = null;
  private tailLen = 0;
  /** When the leading bytes are next compared with the fingerprint (-Infinity: at the next read). */
  private leadingCheckMs = Number.NEGATIVE_INFINITY;
  private cached: CheckpointEntry | null = null;
  private fpString = '0:';
  private readonly ctx: ParseContext;

  constructor(
    key: string,
    dev: number,
    ino: number,
    path: string,
    stream: StreamKey,
    format: LineFormat,
    ctx: ParseContext,
  ) {
    this.ctx = ctx;
    this.key = key;
    this.dev = dev;
    this.ino = ino;
    this.path = path;
    this.stream = stream;
    this.format = format;
  }

  /** The first byte not yet returned inside a complete record. */
  commitOffset(): number {
    let off = this.readPos;
    if (this.long !== null && this.long.start < off) off = this.long.start;
    const pending = this.parser === null ? -1 : this.parser.pendingOffset();
    if (pending >= 0 && pending < off) off = pending;
    return off;
  }

  /** Starts (or resumes) at `offset` with a known fingerprint. */
  resumeAt(offset: number, fp: Buffer): void {
    this.readPos = offset;
    this.setFingerprint(fp);
    this.long = null;
    this.parser?.reset();
    this.tailLen = 0;
    this.leadingCheckMs = Number.NEGATIVE_INFINITY;
  }

  /** Gives this file's reading state (position, open record, over-long line) to `other`, starting over at 0. */
  handOverTo(other: TrackedFile): void {
    other.readPos = this.readPos;
    other.parser = this.parser;
    other.long = this.long;
    other.format = this.format;
    other.setFingerprint(this.fp);
    other.tail = this.tail;
    other.tailLen = this.tailLen;
    other.leadingCheckMs = this.leadingCheckMs;
    this.parser = null;
    this.long = null;
    this.readPos = 0;
    this.setFingerprint(Buffer.alloc(0));
    this.tail = null;
    this.tailLen = 0;
  }

  /** Back to offset 0 after a truncation; an open record is emitted as it is (its rest is gone). */
  restart(out: LogRecord[]): void {
    if (this.long !== null) this.long = null;
    this.parser?.flush(out);
    this.readPos = 0;
    this.setFingerprint(Buffer.alloc(0));
    this.tailLen = 0;
  }

  /**
   * The directory of `path`, kept until the path changes: the tailer asks for it for every file every discovery
   * interval (a WeakMap from file to directory cost more than the rest of that loop).
   */
  get dir(): string {
    if (this.dirPath !== this.path) {
      this.dirPath = this.path;
      this.dirName = dirname(this.path);
    }
    return this.dirName;
  }

  checkpointEntry(nowMs: number): CheckpointEntry {
    const offset = this.commitOffset();
    const c = this.cached;
    if (c !== null && c.offset === offset && c.path === this.path && c.fingerprint === this.fpString)
      return c;
    this.cached = { path: this.path, offset, fingerprint: this.fpString, updatedMs: nowMs };
    return this.cached;
  }

  closeFd(): void {
    if (this.fd >= 0) {
      try {
        closeSync(this.fd);
      } catch {
        // Already closed or the file system went away: nothing to release.
      }
      this.fd = -1;
    }
  }

  /**
   * Reads one chunk and hands its complete lines to the parser. Returns the bytes consumed (0 at EOF or
   * when only a partial line is there), or TRUNCATED when the bytes before our offset or the leading bytes
   * are no longer the ones we read (or the file is shorter than our offset).
   * The chunk must hold TAIL_CHECK_BYTES more than the longest physical line (`chunkBytesFor`).
   */
  readTurn(io: ReadIo, out: LogRecord[]): number {
    const chunk = io.chunk;
    // chunk[0, pre) is re-read to check it; chunk[pre, n) is new. chunk[i] is at file offset base + i.
    const pre = this.tailLen;
    const base = this.readPos - pre;
    const n = readSync(this.fd, chunk, 0, chunk.length, base);
    io.ctx.counters.fileReads++;
    if (pre > 0 && (n < pre || chunk.compare(this.tail as Buffer, 0, pre, 0, pre) !== 0)) return TRUNCATED;
    if (n === pre) return 0;
    if (this.fp.length > 0 && io.ctx.nowMs >= this.leadingCheckMs) {
      this.leadingCheckMs = io.ctx.nowMs + LEADING_RECHECK_MS;
      if (!this.startsWithFingerprint(io)) return TRUNCATED;
    }
    if (this.fp.length < io.fingerprintBytes) {
      // Read from the start: the leading bytes are in the chunk already.
      const fp = base === 0 ? chunk.subarray(0, Math.min(n, io.fingerprintBytes)) : null;
      this.setFingerprint(Buffer.from(fp ?? readLeadingBytes(this.fd, io.fingerprintBytes)));
      this.leadingCheckMs = io.ctx.nowMs + LEADING_RECHECK_MS;
    }
    const view = chunk.subarray(0, n);
    let s = pre;
    const long = this.long;
    if (long !== null) {
      const nl = view.indexOf(NEWLINE, pre);
      if (nl < 0) {
        long.skipped += n - pre;
        return this.consumed(io, chunk, pre, n);
      }
      long.skipped += nl - pre;
      this.long = null;
      io.ctx.counters.lines++;
      this.parserFor(long.head, 0).line(long.head, 0, long.head.length, long.start, long.skipped, out);
      s = nl + 1;
    }
    if (s >= n) return this.consumed(io, chunk, pre, s);
    const parser = this.parserFor(chunk, s);
    let lines = 0;
    io.ctx.chunkText ??= new ChunkText();
    const texts = io.ctx.chunkText;
    texts.begin(chunk, n);
    let nl = view.indexOf(NEWLINE, s);
    while (nl >= 0) {
      parser.line(chunk, s, nl, base + s, 0, out);
      lines++;
      s = nl + 1;
      nl = view.indexOf(NEWLINE, s);
    }
    texts.finish();
    io.ctx.counters.lines += lines;
    const rest = n - s;
    if (rest > io.physicalCap) {
      // No newline within the cap: keep the head, skip ahead until the line ends.
      this.long = {
        head: Buffer.from(view.subarray(s, s + io.physicalCap)),
        start: base + s,
        skipped: rest - io.physicalCap,
      };
      s = n;
    }
    // A short read means EOF: no need for another read that returns 0 in this poll.
    if (n < chunk.length) this.eofPoll = io.pollId;
    return this.consumed(io, chunk, pre, s);
  }

  /** Moves past chunk[pre, end) and keeps the bytes before the new position for the next read's check. */
  private consumed(io: ReadIo, chunk: Buffer, pre: number, end: number): number {
    this.advance(io, end - pre);
    const k = Math.min(TAIL_CHECK_BYTES, end);
    this.tail ??= Buffer.allocUnsafe(TAIL_CHECK_BYTES);
    chunk.copy(this.tail, 0, end - k, end);
    this.tailLen = k;
    return end - pre;
  }

  /**
   * Emits what is left when the file is let go: an unterminated last line and any open record.
   * Reads the tail through the descriptor (the path may already name another file).
   */
  finish(io: ReadIo, out: LogRecord[]): void {
    if (this.fd >= 0) {
      let st: Stats | null = null;
      try {
        st = fstatSync(this.fd);
      } catch {
        st = null;
      }
      const size = st?.size ?? this.readPos;
      const rest = size - this.readPos;
      if (this.long !== null) {
        const long = this.long;
        this.long = null;
        long.skipped += Math.max(0, rest);
        io.ctx.counters.lines++;
        io.ctx.counters.unterminatedFlushed++;
        this.parserFor(long.head, 0).line(long.head, 0, long.head.length, long.start, long.skipped, out);
        this.advance(io, Math.max(0, rest));
      } else if (rest > 0 && rest <= io.physicalCap) {
        const buf = Buffer.allocUnsafe(rest);
        const got = readSync(this.fd, buf, 0, rest, this.readPos);
        if (got > 0) {
          io.ctx.counters.lines++;
          io.ctx.counters.unterminatedFlushed++;
          this.parserFor(buf, 0).line(buf, 0, got, this.readPos, 0, out);
          this.advance(io, got);
        }
      }
    }
    this.parser?.flush(out);
    // Read past the kept tail: if this inode is read again, check its leading bytes first.
    this.tailLen = 0;
    this.leadingCheckMs = Number.NEGATIVE_INFINITY;
  }

  private advance(io: ReadIo, bytes: number): void {
    this.readPos += bytes;
    io.ctx.counters.bytesRead += bytes;
  }

  private startsWithFingerprint(io: ReadIo): boolean {
    const len = this.fp.length;
    const got = readSync(this.fd, io.fpScratch, 0, len, 0);
    return got === len && io.fpScratch.compare(this.fp, 0, len, 0, len) === 0;
  }

  private setFingerprint(fp: Buffer): void {
    if (fp.length === this.fp.length && fp.equals(this.fp)) return;
    this.fp = fp;
    this.fpString = fingerprintString(fp);
  }

  /** The parser, created on first use; `auto` looks at the first line: `{` means docker json-file. */
  private parserFor(buf: Buffer, at: number): LineParser {
    if (this.parser !== null) return this.parser;
    return this.makeParser(buf[at] === 123 ? 'docker' : 'cri');
  }

  private makeParser(auto: 'docker' | 'cri'): LineParser {
    const ctx = this.ctx;
    const format = this.format === 'auto' ? auto : this.format;
    this.format = format;
    if (format === 'docker') this.parser = new DockerLineParser(this.stream, ctx);
    else if (format === 'raw') this.parser = new RawLineParser(this.stream, ctx);
    else this.parser = new CriLineParser(this.stream, ctx);
    return this.parser;
  }
}
