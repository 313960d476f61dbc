import { createHash } from 'node:crypto';
import { closeSync, openSync, readSync } from 'node:fs';

// A file's identity beyond (device, inode): its first bytes. Inodes are reused after deletion, and a
// copytruncate leaves the same inode with new content; the leading bytes tell these apart.

/** `<length>:<sha1 hex>`; `0:` for an empty file (which matches nothing but another empty prefix). */
export function fingerprintString(bytes: Uint8Array): string {
  if (bytes.length === 0) return '0:';
  return `${bytes.length}:${createHash('sha1').update(bytes).digest('hex')}`;
}

/** The length a fingerprint string covers. */
export function fingerprintLength(fp: string): number {
  const n = Number.parseInt(fp, 10);
  return Number.isFinite(n) && n > 0 ? n : 0;
}

/** Up to `length` leading bytes read through an open descriptor. */
export function readLeadingBytes(fd: number, length: number): Buffer {
  const buf = Buffer.allocUnsafe(length);
  let got = 0;
  while (got < length) {
    const n = readSync(fd, buf, got, length - got, got);
    if (n === 0) break;
    got += n;
  }
  return buf.subarray(0, got);
}

/** Leading bytes of the file at `path`, or null when it cannot be opened. */
export function readLeadingBytesAt(path: string, length: number): Buffer | null {
  let fd = -1;
  try {
    fd = openSync(path, 'r');
    return readLeadingBytes(fd, length);
  } catch {
    return null;
  } finally {
    if (fd >= 0) closeSync(fd);
  }
}
