import { closeSync, fstatSync, readSync, type Stats } from 'node:fs';
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

const NEWLINE = 10;

/** `live`: at its discovered path. `rotated`: renamed away or deleted, drained to its end then let go.
 * `done`: let go, kept only so that rediscovering the same inode does not read it again. */
export type FileState = 'live' | 'rotated' | 'done';

/** What a reader turn found. */
export const TRUNCATED = -1;

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
  /** Bytes consumed in poll `pollBytesId`. */
  pollBytes = 0;
  pollBytesId = -1;
  /** When a rotated file was first seen at EOF without growth, -1 when it is not. */
  eofSinceMs = -1;
  lastStatMs = 0;
  private format: LineFormat;
  private parser: LineParser | null = null;
  private long: LongLine | null = null;
  private verifiedPoll = -1;
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
  }

  /** Gives this file's reading state (position, open record, over-long line) to `other`, starting over at 0. */
  handOverTo(other: TrackedFile): void {
    other.readPos = this.readPos;
    other.parser = this.parser;
    other.long = this.long;
    other.format = this.format;
    other.setFingerprint(this.fp);
    this.parser = null;
    this.long = null;
    this.readPos = 0;
    this.setFingerprint(Buffer.alloc(0));
  }

  /** Back to offset 0 after a truncation; an open record is emitted as it is (its rest is gone). */
  restart(out: LogRecord[]): void {
    if (this.long !== null) this.long = null;
    this.parser?.flush(out);
    this.readPos = 0;
    this.setFingerprint(Buffer.alloc(0));
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
   * when only a partial line is there), or TRUNCATED when the file no longer starts with its fingerprint.
   */
  readTurn(io: ReadIo, out: LogRecord[]): number {
    const chunk = io.chunk;
    const n = readSync(this.fd, chunk, 0, chunk.length, this.readPos);
    if (n === 0) return 0;
    if (this.verifiedPoll !== io.pollId) {
      this.verifiedPoll = io.pollId;
      if (this.fp.length > 0 && !this.startsWithFingerprint(io)) {
        return TRUNCATED;
      }
    }
    if (this.fp.length < io.fingerprintBytes) {
      this.setFingerprint(Buffer.from(readLeadingBytes(this.fd, io.fingerprintBytes)));
    }
    const view = chunk.subarray(0, n);
    let s = 0;
    const long = this.long;
    if (long !== null) {
      const nl = view.indexOf(NEWLINE);
      if (nl < 0) {
        long.skipped += n;
        this.advance(io, n);
        return n;
      }
      long.skipped += nl;
      this.long = null;
      io.ctx.counters.lines++;
      this.parserFor(long.head, 0).line(long.head, 0, long.head.length, long.start, long.skipped, out);
      s = nl + 1;
    }
    if (s >= n) {
      this.advance(io, s);
      return s;
    }
    const parser = this.parserFor(chunk, s);
    const base = this.readPos;
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
    this.advance(io, s);
    // A short read means EOF: no need for another read that returns 0 in this poll.
    if (n < chunk.length) this.eofPoll = io.pollId;
    return s;
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
