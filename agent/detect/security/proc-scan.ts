// Container runtime checks by polling `<hostRoot>/proc` (no kernel module, no eBPF). Each scan builds one
// event per process (name, exe, cmdline, terminal, container, capabilities, sockets) and runs the `runtime`
// rules over it; a finding is reported once per process lifetime (pid + start time). A process that starts
// and exits between two scans is never seen: see docs/security-rules.md for what polling misses.
//
// Reads are synchronous: /proc files are tiny, synchronous reads are several times cheaper than promises
// for them, and the agent runs detectors in worker threads.

import { readdirSync, readFileSync, readlinkSync, statSync } from 'node:fs';
import { basename, dirname, join } from 'node:path';
import type { Signal, Subject } from '../../../common/signal.ts';
import {
  type ContainerRef,
  parseCgroup,
  parseNetTcp,
  parseRootUpperDir,
  parseStat,
  parseStatus,
  splitNul,
  type TcpSocket,
} from './proc-parse.ts';
import { RuleEngine } from './rule-engine.ts';
import type { CompiledRule, RuleSet } from './rule-types.ts';

export interface PodRef {
  namespace: string;
  pod: string;
  container?: string;
}

export interface ProcScanOptions {
  /** Rules to run (only `runtime` ones are used). Without it, the scan only collects processes. */
  ruleSet?: RuleSet;
  node?: string;
  /** Kubernetes API endpoints as `ip:port` (e.g. the `kubernetes` service `10.96.0.1:443`). */
  k8sApiEndpoints?: readonly string[];
  /** Maps a container id to its pod (the agent's kube source knows this); unknown → undefined. */
  resolveContainer?: (containerId: string) => PodRef | undefined;
  /** Clock for signal times. */
  nowMs?: number;
  /** Upper bound on processes read per scan, so a fork bomb cannot make one scan unbounded. */
  maxProcesses?: number;
}

export interface ProcConnection {
  remoteIp: string;
  remotePort: number;
  localPort: number;
  state: string;
  toK8sApi: boolean;
}

/** The event the `runtime` rules see, one per process. */
export interface ProcessEvent {
  /** `pid:starttime`, stable for the life of the process. */
  key: string;
  pid: number;
  ppid: number;
  comm: string;
  exe: string;
  exeName: string;
  exeDir: string;
  exeDeleted: boolean;
  memfd: boolean;
  exeInUpperLayer: boolean;
  cmdline: string;
  uid: number;
  tty: boolean;
  ttyName?: string;
  inContainer: boolean;
  container?: ContainerRef;
  pod?: PodRef;
  capEff: string;
  capFull: boolean;
  connections: ProcConnection[];
  k8sApiConnected: boolean;
  subjectHint?: Partial<Subject>;
}

export interface ProcScanState {
  engine?: RuleEngine;
  rules?: readonly CompiledRule[];
  /** Processes seen in the previous scan (keys), to tell new ones apart. */
  seen: Set<string>;
  /** What does not change while a process runs the same binary, so later scans skip re-reading it. */
  facts: Map<string, StableFacts>;
  scans: number;
}

interface StableFacts {
  rawExe: string;
  cmdline: string;
  container: ContainerRef | undefined;
  exeInUpperLayer: boolean;
  /** `host:port` from KUBERNETES_SERVICE_HOST/PORT in the environment, read once. */
  envApiEndpoint?: string | null;
}

export interface ProcScanStats {
  processes: number;
  newProcesses: number;
  containerProcesses: number;
  /** Processes that vanished or were unreadable mid-scan (normal: they exit while we read). */
  unreadable: number;
  durationUs: number;
  usPerProcess: number;
}

export interface ProcScanResult {
  signals: Signal[];
  processes: ProcessEvent[];
  state: ProcScanState;
  stats: ProcScanStats;
}

const DEFAULT_LAST_CAP = 40;

/** One scan of `<hostRoot>/proc`. Pass the returned state to the next call. */
export function scanProc(
  hostRoot: string,
  previousState: ProcScanState | undefined,
  options: ProcScanOptions = {},
): ProcScanResult {
  const started = process.hrtime.bigint();
  const procDir = join(hostRoot, 'proc');
  const state: ProcScanState = previousState ?? { seen: new Set(), facts: new Map(), scans: 0 };
  const ruleSet = options.ruleSet;
  if (ruleSet && (!state.engine || state.rules !== ruleSet.rules)) {
    // A new rule set (hot reload) keeps the engine, so per-process de-duplication survives the swap.
    const runtimeRules = ruleSet.rules.filter((r) => r.source === 'runtime');
    if (state.engine) state.engine.setRules(runtimeRules);
    else {
      state.engine = new RuleEngine(runtimeRules, {
        dedupeField: 'key',
        ...(options.node !== undefined ? { node: options.node } : {}),
      });
    }
    state.rules = ruleSet.rules;
  }
  const fullCaps = fullCapabilityMask(procDir);
  const apiEndpoints = new Set(options.k8sApiEndpoints ?? []);
  const tcpByNetns = new Map<string, TcpSocket[]>();
  const seen = new Set<string>();
  const facts = new Map<string, StableFacts>();
  const processes: ProcessEvent[] = [];
  const signals: Signal[] = [];
  const stats: ProcScanStats = {
    processes: 0,
    newProcesses: 0,
    containerProcesses: 0,
    unreadable: 0,
    durationUs: 0,
    usPerProcess: 0,
  };
  const nowMs = options.nowMs ?? Date.now();
  let pids: string[];
  try {
    pids = readdirSync(procDir).filter((name) => /^\d+$/.test(name));
  } catch {
    pids = [];
  }
  const max = options.maxProcesses ?? 20_000;
  for (const pid of pids.slice(0, max)) {
    const event = readProcess(
      procDir,
      hostRoot,
      pid,
      fullCaps,
      apiEndpoints,
      tcpByNetns,
      options,
      state.facts,
      facts,
    );
    if (!event) {
      stats.unreadable++;
      continue;
    }
    stats.processes++;
    if (event.inContainer) stats.containerProcesses++;
    if (!state.seen.has(event.key)) stats.newProcesses++;
    seen.add(event.key);
    processes.push(event);
    if (state.engine) signals.push(...state.engine.process(event, nowMs, describe(event)));
  }
  state.seen = seen;
  state.facts = facts;
  state.scans++;
  stats.durationUs = Number(process.hrtime.bigint() - started) / 1000;
  stats.usPerProcess = stats.processes > 0 ? stats.durationUs / stats.processes : 0;
  return { signals, processes, state, stats };
}

function describe(e: ProcessEvent): string {
  const where = e.pod
    ? `${e.pod.namespace}/${e.pod.pod}`
    : e.container
      ? e.container.id.slice(0, 12)
      : 'host';
  const conns = e.connections
    .slice(0, 3)
    .map((c) => `${c.remoteIp}:${c.remotePort}`)
    .join(' ');
  return `pid=${e.pid} comm=${e.comm} exe=${e.exe} cmdline=${e.cmdline.slice(0, 200)} tty=${e.ttyName ?? e.tty} in=${where}${conns ? ` conns=${conns}` : ''}`;
}

function read(path: string): string | undefined {
  try {
    return readFileSync(path, 'utf8');
  } catch {
    return undefined;
  }
}

function link(path: string): string | undefined {
  try {
    return readlinkSync(path);
  } catch {
    return undefined;
  }
}

function fullCapabilityMask(procDir: string): bigint {
  const text = read(join(procDir, 'sys/kernel/cap_last_cap'));
  const last = text === undefined ? DEFAULT_LAST_CAP : Number(text.trim());
  return (1n << BigInt((Number.isInteger(last) ? last : DEFAULT_LAST_CAP) + 1)) - 1n;
}

function readProcess(
  procDir: string,
  hostRoot: string,
  pid: string,
  fullCaps: bigint,
  apiEndpoints: ReadonlySet<string>,
  tcpByNetns: Map<string, TcpSocket[]>,
  options: ProcScanOptions,
  previousFacts: ReadonlyMap<string, StableFacts>,
  facts: Map<string, StableFacts>,
): ProcessEvent | undefined {
  const dir = join(procDir, pid);
  const statusText = read(join(dir, 'status'));
  if (statusText === undefined) return undefined;
  const status = parseStatus(statusText);
  const stat = parseStat(read(join(dir, 'stat')) ?? '');
  const key = `${pid}:${stat?.startTime ?? '?'}`;
  const rawExe = link(join(dir, 'exe')) ?? '';
  // execve keeps pid and start time, so cached facts are only reused while the binary is the same.
  let known = previousFacts.get(key);
  if (!known || known.rawExe !== rawExe) known = undefined;
  const exeDeleted = rawExe.endsWith(' (deleted)');
  const exe = exeDeleted ? rawExe.slice(0, -' (deleted)'.length) : rawExe;
  const stable: StableFacts = known ?? {
    rawExe,
    cmdline: splitNul(read(join(dir, 'cmdline')) ?? '').join(' '),
    container: parseCgroup(read(join(dir, 'cgroup')) ?? ''),
    exeInUpperLayer: false,
  };
  if (!known && stable.container) stable.exeInUpperLayer = isInUpperLayer(dir, hostRoot, exe);
  facts.set(key, stable);
  const container = stable.container;
  const fd0 = link(join(dir, 'fd/0'));
  const ttyName = fd0 && /^\/dev\/(pts\/\d+|tty\w*|console)$/.test(fd0) ? fd0 : undefined;
  const capEff = status.capEff ?? 0n;
  const event: ProcessEvent = {
    key,
    pid: Number(pid),
    ppid: stat?.ppid ?? status.ppid ?? 0,
    // status `Name` is the same 15-character comm as /proc/<pid>/comm: one read fewer.
    comm: status.name,
    exe,
    exeName: basename(exe),
    exeDir: exe ? dirname(exe) : '',
    exeDeleted,
    memfd: exe.startsWith('/memfd:'),
    exeInUpperLayer: stable.exeInUpperLayer,
    cmdline: stable.cmdline,
    uid: status.uid ?? -1,
    tty: (stat?.ttyNr ?? 0) !== 0 || ttyName !== undefined,
    inContainer: container !== undefined,
    capEff: capEff.toString(16).padStart(16, '0'),
    capFull: (capEff & fullCaps) === fullCaps,
    connections: [],
    k8sApiConnected: false,
  };
  if (ttyName !== undefined) event.ttyName = ttyName;
  if (container) {
    event.container = container;
    const pod = options.resolveContainer?.(container.id);
    const hint: Partial<Subject> = { container: container.id };
    if (pod) {
      event.pod = pod;
      hint.namespace = pod.namespace;
      hint.pod = pod.pod;
      if (pod.container) hint.container = pod.container;
    }
    event.subjectHint = hint;
    // Only container processes get the costlier socket checks; connections change, so every scan.
    event.connections = connectionsOf(dir, pid, apiEndpoints, tcpByNetns, stable);
    event.k8sApiConnected = event.connections.some((c) => c.toK8sApi);
  }
  return event;
}

function isInUpperLayer(dir: string, hostRoot: string, exe: string): boolean {
  if (!exe.startsWith('/') || exe.startsWith('/memfd:')) return false;
  const upper = parseRootUpperDir(read(join(dir, 'mountinfo')) ?? '');
  if (!upper) return false;
  try {
    return statSync(join(hostRoot, upper, exe)).isFile();
  } catch {
    return false;
  }
}

function connectionsOf(
  dir: string,
  pid: string,
  apiEndpoints: ReadonlySet<string>,
  tcpByNetns: Map<string, TcpSocket[]>,
  stable: StableFacts,
): ProcConnection[] {
  const inodes = new Set<string>();
  let fds: string[] = [];
  try {
    fds = readdirSync(join(dir, 'fd'));
  } catch {
    return [];
  }
  for (const fd of fds) {
    const target = link(join(dir, 'fd', fd));
    const m = target ? /^socket:\[(\d+)\]$/.exec(target) : null;
    if (m) inodes.add(m[1]!);
  }
  if (inodes.size === 0) return [];
  // Every process of a network namespace sees the same tables: read them once per namespace per scan.
  const netns = link(join(dir, 'ns/net')) ?? `pid:${pid}`;
  let sockets = tcpByNetns.get(netns);
  if (!sockets) {
    sockets = [
      ...parseNetTcp(read(join(dir, 'net/tcp')) ?? ''),
      ...parseNetTcp(read(join(dir, 'net/tcp6')) ?? ''),
    ];
    tcpByNetns.set(netns, sockets);
  }
  if (stable.envApiEndpoint === undefined) {
    // Every pod gets the API service address in its environment: the API endpoint as this pod sees it.
    const env = splitNul(read(join(dir, 'environ')) ?? '');
    const host = env.find((e) => e.startsWith('KUBERNETES_SERVICE_HOST='))?.split('=')[1];
    const port = env.find((e) => e.startsWith('KUBERNETES_SERVICE_PORT='))?.split('=')[1];
    stable.envApiEndpoint = host ? `${host}:${port ?? '443'}` : null;
  }
  const envEndpoint = stable.envApiEndpoint;
  const out: ProcConnection[] = [];
  for (const s of sockets) {
    if (!inodes.has(s.inode) || s.state === 'LISTEN' || s.remotePort === 0) continue;
    out.push({
      remoteIp: s.remoteIp,
      remotePort: s.remotePort,
      localPort: s.localPort,
      state: s.state,
      toK8sApi:
        apiEndpoints.has(`${s.remoteIp}:${s.remotePort}`) ||
        envEndpoint === `${s.remoteIp}:${s.remotePort}` ||
        s.remotePort === 6443,
    });
  }
  return out;
}
