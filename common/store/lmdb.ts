// Opens an LMDB environment. LMDB trusts its file: opening a damaged one can crash the process outright
// (a segfault, no exception), so we check the two meta pages ourselves first. A file that fails the check
// is moved aside — kept for forensics, never deleted — and a fresh one is started with a loud log line,
// so a bad disk never crash-loops a DaemonSet.
import { closeSync, existsSync, fstatSync, mkdirSync, openSync, readSync, renameSync } from 'node:fs';
import { dirname } from 'node:path';
import { open, type RootDatabase } from 'lmdb';
import type { Logger } from '../log.ts';

const MDB_MAGIC = 0xbeefc0de;
const MDB_DATA_VERSION = 2;
const P_META = 0x08;

export interface OpenedStore {
  root: RootDatabase;
  /** Where the unreadable file was moved, when it was. */
  recoveredFrom?: string;
}

/** Why the file is not a usable LMDB data file, or undefined when its meta pages look right. */
export function checkLmdbFile(path: string): string | undefined {
  const fd = openSync(path, 'r');
  try {
    const size = fstatSync(fd).size;
    const head = Buffer.alloc(32);
    if (readSync(fd, head, 0, 32, 0) < 32) return `only ${size} bytes, shorter than an LMDB meta page`;
    const pageSize = 4096;
    if (size < 2 * pageSize) return `only ${size} bytes, LMDB needs two meta pages`;
    const metaOk = (b: Buffer) =>
      b.readUInt16LE(18) === P_META &&
      b.readUInt32LE(24) === MDB_MAGIC &&
      b.readUInt32LE(28) === MDB_DATA_VERSION;
    const second = Buffer.alloc(32);
    readSync(fd, second, 0, 32, pageSize);
    if (!metaOk(head) && !metaOk(second)) return 'no valid LMDB meta page (wrong magic or version)';
    return undefined;
  } finally {
    closeSync(fd);
  }
}

export function openLmdb(path: string, logger: Logger, opts: { mapSize?: number } = {}): OpenedStore {
  mkdirSync(dirname(path), { recursive: true });
  const options = {
    path,
    compression: false,
    // Room for named databases (outbox, meta, checkpoints, templates...).
    maxDbs: 16,
    ...(opts.mapSize ? { mapSize: opts.mapSize } : {}),
  };
  let problem: string | undefined;
  if (existsSync(path)) {
    try {
      problem = checkLmdbFile(path);
    } catch (error) {
      problem = (error as Error).message;
    }
  }
  let recoveredFrom: string | undefined;
  if (problem) {
    recoveredFrom = `${path}.corrupt-${Date.now()}`;
    renameSync(path, recoveredFrom);
    if (existsSync(`${path}-lock`)) renameSync(`${path}-lock`, `${recoveredFrom}-lock`);
    logger.error(
      { path, movedTo: recoveredFrom, problem },
      'state store is unreadable; moved it aside and started a new one (data it held is lost)',
    );
  }
  const root = open(options);
  return recoveredFrom ? { root, recoveredFrom } : { root };
}
