// Shapes shared by the log source's files and by its users (the agent pipeline and the outbox).

/** Identity of one container's log stream: stable across rotations (the path is the discovered one). */
export interface ContainerStreamKey {
  kind: 'container';
  /** `namespace/pod/container`: the key the miner and summaries group by. */
  id: string;
  namespace: string;
  pod: string;
  podUid: string;
  container: string;
  /** From `<n>.log`: the kubelet's restart count of this container. */
  restartCount: number;
  path: string;
}

/** A host log file such as `/var/log/auth.log`. */
export interface HostStreamKey {
  kind: 'host';
  /** `host:<file name>`, e.g. `host:auth.log`. */
  id: string;
  name: string;
  path: string;
}

export type StreamKey = ContainerStreamKey | HostStreamKey;

export type StreamName = 'stdout' | 'stderr' | 'host';

/** One complete log line (a reassembled CRI/docker record, or one host log line). */
export interface LogRecord {
  stream: StreamKey;
  /** Runtime timestamp of the line (CRI/docker), or the read time for host logs and unparsable lines. */
  timeMs: number;
  streamName: StreamName;
  text: string;
  /** True when the line was cut at the configured maximum (the text then ends with a visible marker). */
  truncated: boolean;
}

export interface CheckpointEntry {
  /** Last known path of this (device, inode); after a rotation, the rotated name. */
  path: string;
  /** Byte offset of the first byte not yet returned as part of a complete record. */
  offset: number;
  /** `<length>:<sha1 hex>` of the file's first bytes; detects inode reuse and truncation while we were down. */
  fingerprint: string;
  updatedMs: number;
}

/** Keyed by `${dev}:${ino}`. */
export type Checkpoint = Record<string, CheckpointEntry>;

/** The format of a file's lines. `auto` decides on the first line: `{` → docker, otherwise CRI. */
export type LineFormat = 'cri' | 'docker' | 'raw' | 'auto';
