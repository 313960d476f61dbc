import { type Stats, statSync } from 'node:fs';
import { basename, dirname } from 'node:path';
import {
  type GlobMatch,
  GlobPattern,
  globSegmentToRegExp,
  matchesAny,
  type TrustedDirectory,
} from './glob.ts';
import type { TailerOptions } from './options.ts';
import type { ContainerStreamKey, HostStreamKey, LineFormat, StreamKey } from './types.ts';

// Finds the files to tail by listing the tree. Watched directories whose entries did not change are
// trusted as listed (see change-watch.ts); the others are stat-ed. Pod metadata comes from the kubelet's
// path layout:
//   var/log/pods/<namespace>_<pod>_<uid>/<container>/<restartCount>.log

export interface DiscoveredFile {
  path: string;
  stream: StreamKey;
  format: LineFormat;
  /** Set by each discovery: the file's directory did not change since the previous one. */
  stable: boolean;
}

const RESTART_FILE = /^(\d+)\.log/;

/** Pod metadata from a kubelet log path; unknown parts are empty (e.g. a docker json-file path). */
export function containerStreamFromPath(path: string): ContainerStreamKey {
  const container = basename(dirname(path));
  const podDir = basename(dirname(dirname(path)));
  // Namespaces, pod names and uids cannot contain `_`, so the split is unambiguous.
  const parts = podDir.split('_');
  const [namespace, pod, podUid] = parts.length === 3 ? (parts as [string, string, string]) : ['', '', ''];
  const restart = RESTART_FILE.exec(basename(path));
  return {
    kind: 'container',
    id: `${namespace}/${pod}/${container}`,
    namespace,
    pod,
    podUid,
    container,
    restartCount: restart?.[1] === undefined ? 0 : Number(restart[1]),
    path,
  };
}

/** A host log stream; a rotated name (`syslog.1`, `auth.log-20240101`) belongs to the original stream. */
export function hostStreamFromPath(path: string): HostStreamKey {
  const name = basename(path).replace(/(\.\d+|-\d{8})$/, '');
  return { kind: 'host', id: `host:${name}`, name, path };
}

interface CompiledFilter {
  namespaces: RegExp[];
  pods: RegExp[];
  containers: RegExp[];
}

function compileFilter(f: TailerOptions['include']): CompiledFilter {
  return {
    namespaces: f.namespaces.map(globSegmentToRegExp),
    pods: f.pods.map(globSegmentToRegExp),
    containers: f.containers.map(globSegmentToRegExp),
  };
}

export class LogDiscovery {
  private readonly hostRoot: string;
  private readonly containerGlobs: GlobPattern[];
  private readonly hostGlobs: GlobPattern[];
  private readonly allGlobs: GlobPattern[];
  private readonly include: CompiledFilter;
  private readonly exclude: CompiledFilter;
  private readonly containerFormat: LineFormat;
  /** Stream keys are cached per path so every record of a stream shares one object. */
  private readonly known = new Map<string, DiscoveredFile | null>();

  constructor(opts: TailerOptions) {
    this.hostRoot = opts.hostRoot;
    this.containerGlobs = opts.containerGlobs.map((g) => new GlobPattern(g));
    this.hostGlobs = opts.hostGlobs.map((g) => new GlobPattern(g));
    this.allGlobs = [...this.containerGlobs, ...this.hostGlobs];
    this.include = compileFilter(opts.include);
    this.exclude = compileFilter(opts.exclude);
    this.containerFormat = opts.containerFormat;
  }

  /** Every candidate path (not stat-ed: literal host paths may not exist), deduplicated, filters applied. */
  discover(trusted: TrustedDirectory | null = null): DiscoveredFile[] {
    const out: DiscoveredFile[] = [];
    const seen = new Set<string>();
    const visit = (matches: GlobMatch[], host: boolean): void => {
      for (const { path, stable } of matches) {
        if (seen.has(path)) continue;
        seen.add(path);
        let file = this.known.get(path);
        if (file === undefined) {
          file = this.describe(path, host);
          this.known.set(path, file);
        }
        if (file === null) continue;
        file.stable = stable;
        out.push(file);
      }
    };
    for (const g of this.containerGlobs) visit(g.walk(this.hostRoot, [], trusted), false);
    for (const g of this.hostGlobs) visit(g.walk(this.hostRoot, [], trusted), true);
    // Forget paths that disappeared so the cache does not grow with every pod ever seen.
    if (this.known.size > seen.size)
      for (const p of this.known.keys()) if (!seen.has(p)) this.known.delete(p);
    return out;
  }

  /**
   * Whether a discovery would list exactly what the last one did as far as `dirs` go: each one's cached
   * listings still hold (one stat per directory, no walk). False for a directory with no cached listing.
   */
  listingsHold(dirs: Iterable<string>): boolean {
    for (const dir of dirs) {
      let st: Stats | undefined;
      try {
        st = statSync(dir, { throwIfNoEntry: false });
      } catch {
        return false;
      }
      if (st === undefined || !st.isDirectory()) return false;
      let known = false;
      for (const g of this.allGlobs) {
        const holds = g.listingHolds(dir, st);
        if (holds === false) return false;
        if (holds === true) known = true;
      }
      if (!known) return false;
    }
    return true;
  }

  /** The directories whose changes can change what the last discovery found (to watch them). */
  directories(): Set<string> {
    const dirs = new Set<string>();
    for (const g of this.containerGlobs) g.directories(dirs);
    for (const g of this.hostGlobs) g.directories(dirs);
    return dirs;
  }

  /** A file's description, or null when the include/exclude filters reject it. */
  describe(path: string, host: boolean): DiscoveredFile | null {
    if (host) return { path, stream: hostStreamFromPath(path), format: 'raw', stable: false };
    const stream = containerStreamFromPath(path);
    if (!this.accepts(stream)) return null;
    return { path, stream, format: this.containerFormat, stable: false };
  }

  /** A file known only from a checkpoint: a container log when its path has the kubelet's pod layout. */
  describeCheckpointed(path: string): DiscoveredFile | null {
    return this.describe(path, containerStreamFromPath(path).podUid === '');
  }

  private accepts(s: ContainerStreamKey): boolean {
    const inc = this.include;
    if (inc.namespaces.length > 0 && !matchesAny(s.namespace, inc.namespaces)) return false;
    if (inc.pods.length > 0 && !matchesAny(s.pod, inc.pods)) return false;
    if (inc.containers.length > 0 && !matchesAny(s.container, inc.containers)) return false;
    const exc = this.exclude;
    if (matchesAny(s.namespace, exc.namespaces)) return false;
    if (matchesAny(s.pod, exc.pods)) return false;
    if (matchesAny(s.container, exc.containers)) return false;
    return true;
  }
}
