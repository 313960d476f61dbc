// Node-level remediation carried out by the agent on its own node, as the aggregator commands it over the
// gateway stream. Every command is idempotent by id: the first result is stored in LMDB and reported again
// for a repeated id (a retry after a disconnect, a restarted agent), so nothing runs twice. Past its
// deadline a command is not started; a dry run says what it would do and changes nothing.
import { readdirSync, readFileSync, rmSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { create } from '@bufbuild/protobuf';
import type { V1Node } from '@kubernetes/client-node';
import type { Database, RootDatabase } from 'lmdb';
import type { Logger } from '../../common/log.ts';
import {
  type Command,
  type CommandResult,
  CommandResultSchema,
  CommandStatus,
} from '../../proto/gen/vigil/v1/gateway_pb.js';
import type { KubeConnection } from '../kube-api/connection.ts';

interface Outcome {
  status: CommandStatus;
  message: string;
}

interface StoredResult extends Outcome {
  finishedMs: number;
}

/** Results remembered for idempotency; older ones are pruned (a retry never comes this late). */
const REMEMBER_MS = 24 * 3600_000;

function isStoredResult(v: unknown): v is StoredResult {
  if (typeof v !== 'object' || v === null) return false;
  const r = v as Partial<Record<keyof StoredResult, unknown>>;
  return (
    typeof r.status === 'number' &&
    r.status in CommandStatus &&
    typeof r.message === 'string' &&
    typeof r.finishedMs === 'number' &&
    Number.isFinite(r.finishedMs)
  );
}

export interface CommandExecutorOptions {
  root: RootDatabase;
  node: string;
  hostRoot: string;
  logger: Logger;
  kube?: KubeConnection;
  /** UIDs of the pods that still exist on this node (log dirs of others are fair game). */
  livePodUids?: () => Set<string> | undefined;
  /** Runtime container id of a pod's container, to find its processes. */
  containerId?: (namespace: string, pod: string, container?: string) => string | undefined;
  /** `process.kill` is opt-in: killing host processes is the most dangerous thing an agent can do. */
  allowProcessKill: boolean;
  now?: () => number;
}

export class CommandExecutor {
  private readonly opts: CommandExecutorOptions;
  private readonly results: Database<StoredResult, string>;
  private readonly running = new Map<string, Promise<CommandResult>>();
  private readonly now: () => number;

  constructor(opts: CommandExecutorOptions) {
    this.opts = opts;
    this.now = opts.now ?? Date.now;
    this.results = opts.root.openDB<StoredResult, string>({ name: 'commands', encoding: 'msgpack' });
  }

  handle(command: Command): Promise<CommandResult> {
    const done: unknown = this.results.get(command.id);
    if (isStoredResult(done)) return Promise.resolve(this.result(command.id, done));
    if (done !== undefined) {
      // A record under this id that is not a result (damage that still decodes): the command may have run, so
      // it is not run again; the aggregator's ladder moves on to a person.
      this.opts.logger.warn(
        { command: command.id },
        'stored result of a command unreadable; not running it again',
      );
      return Promise.resolve(
        this.result(command.id, {
          status: CommandStatus.FAILED,
          message: 'this command id has a stored result that cannot be read; it is not run again',
          finishedMs: this.now(),
        }),
      );
    }
    // The same id while it is still running: the same promise, never a second run.
    const inFlight = this.running.get(command.id);
    if (inFlight) return inFlight;
    const run = this.execute(command).then(async (outcome) => {
      const stored: StoredResult = { ...outcome, finishedMs: this.now() };
      await this.results.put(command.id, stored);
      this.running.delete(command.id);
      this.opts.logger.info(
        {
          command: command.id,
          action: command.action,
          status: CommandStatus[outcome.status],
          message: outcome.message,
        },
        'remediation command finished',
      );
      return this.result(command.id, stored);
    });
    this.running.set(command.id, run);
    return run;
  }

  /** Drops remembered results older than a day, and records that are not results. */
  async prune(): Promise<number> {
    const cutoff = this.now() - REMEMBER_MS;
    const old = [...this.results.getRange({})]
      .filter((e) => !isStoredResult(e.value) || e.value.finishedMs < cutoff)
      .map((e) => e.key);
    await this.opts.root.transaction(() => {
      for (const k of old) this.results.remove(k);
    });
    return old.length;
  }

  private result(id: string, r: StoredResult): CommandResult {
    return create(CommandResultSchema, {
      id,
      status: r.status,
      message: r.message,
      finishedMs: BigInt(r.finishedMs),
    });
  }

  private async execute(c: Command): Promise<Outcome> {
    if (Number(c.deadlineMs) > 0 && this.now() > Number(c.deadlineMs)) {
      return {
        status: CommandStatus.EXPIRED,
        message: `deadline passed ${this.now() - Number(c.deadlineMs)} ms ago; not started`,
      };
    }
    const targetNode = c.target?.node;
    if (targetNode && targetNode !== this.opts.node) {
      return {
        status: CommandStatus.REJECTED,
        message: `command is for node ${targetNode}, this is ${this.opts.node}`,
      };
    }
    try {
      switch (c.action) {
        case 'logs.free_disk':
          return this.freeDisk(c.dryRun);
        case 'node.condition':
          return await this.nodeCondition(c);
        case 'node.cordon':
          return await this.patchNode(c.dryRun, { spec: { unschedulable: true } }, 'cordoned');
        case 'node.taint':
          return await this.taint(c);
        case 'container.restart':
          return this.restartContainer(c);
        case 'process.kill':
          return this.killProcess(c);
        default:
          return { status: CommandStatus.REJECTED, message: `unknown action ${JSON.stringify(c.action)}` };
      }
    } catch (error) {
      return { status: CommandStatus.FAILED, message: (error as Error).message };
    }
  }

  /** Removes rotated log files (`*.log.<suffix>`, compressed ones) of pods that no longer exist. */
  private freeDisk(dryRun: boolean): Outcome {
    const live = this.opts.livePodUids?.();
    if (!live)
      return {
        status: CommandStatus.FAILED,
        message: 'pod list unknown (no Kubernetes API): refusing to delete logs',
      };
    const podsDir = join(this.opts.hostRoot, 'var/log/pods');
    let files = 0;
    let bytes = 0;
    for (const dir of safeList(podsDir)) {
      const uid = dir.split('_').at(-1) ?? '';
      if (live.has(uid)) continue;
      for (const container of safeList(join(podsDir, dir))) {
        for (const f of safeList(join(podsDir, dir, container))) {
          if (!/\.log\..+|\.gz$/.test(f)) continue; // rotated only; the current file may still be open
          const path = join(podsDir, dir, container, f);
          const size = statSync(path, { throwIfNoEntry: false })?.size ?? 0;
          if (!dryRun) rmSync(path, { force: true });
          files++;
          bytes += size;
        }
      }
    }
    const verb = dryRun ? 'would remove' : 'removed';
    return {
      status: dryRun ? CommandStatus.DRY_RUN : CommandStatus.SUCCEEDED,
      message: `${verb} ${files} rotated log files (${bytes} bytes) of pods no longer on ${this.opts.node}`,
    };
  }

  private api(): KubeConnection {
    if (!this.opts.kube) throw new Error('no Kubernetes API access on this agent');
    return this.opts.kube;
  }

  private nodePath(sub = ''): string {
    return `/api/v1/nodes/${encodeURIComponent(this.opts.node)}${sub}`;
  }

  /** Sets a node condition the way node-problem-detector does (type, status, reason, message). */
  private async nodeCondition(c: Command): Promise<Outcome> {
    const type = c.params['type'] ?? 'VigilProblem';
    const status = c.params['status'] ?? 'True';
    if (c.dryRun)
      return {
        status: CommandStatus.DRY_RUN,
        message: `would set condition ${type}=${status} on ${this.opts.node}`,
      };
    const api = this.api();
    const node = await api.get<V1Node>(this.nodePath('/status'));
    const now = rfc3339(this.now());
    const others = (node.status?.conditions ?? []).filter((x) => x.type !== type);
    const condition = {
      type,
      status,
      reason: c.params['reason'] ?? 'VigilRemediation',
      message: c.params['message'] ?? `set by the Vigil agent (command ${c.id})`,
      lastHeartbeatTime: now,
      lastTransitionTime: now,
    };
    // A replace carries the resourceVersion read: a concurrent change makes it fail (409) instead of being lost.
    await api.put(this.nodePath('/status'), {
      ...node,
      status: { ...node.status, conditions: [...others, condition] },
    });
    return {
      status: CommandStatus.SUCCEEDED,
      message: `condition ${type}=${status} set on ${this.opts.node}`,
    };
  }

  private async taint(c: Command): Promise<Outcome> {
    const key = c.params['key'] ?? 'vigil.io/problem';
    const effect = c.params['effect'] ?? 'NoSchedule';
    if (c.dryRun)
      return {
        status: CommandStatus.DRY_RUN,
        message: `would taint ${this.opts.node} with ${key}:${effect}`,
      };
    const node = await this.api().get<V1Node>(this.nodePath());
    const taints = (node.spec?.taints ?? []).filter((t) => !(t.key === key && t.effect === effect));
    taints.push({ key, effect, ...(c.params['value'] ? { value: c.params['value'] } : {}) });
    return this.patchNode(false, { spec: { taints } }, `tainted with ${key}:${effect}`);
  }

  private async patchNode(dryRun: boolean, body: object, what: string): Promise<Outcome> {
    if (dryRun) return { status: CommandStatus.DRY_RUN, message: `would have ${what} ${this.opts.node}` };
    const api = this.api();
    const current = await api.get<V1Node>(this.nodePath());
    const merged = { ...current, spec: { ...current.spec, ...(body as { spec: object }).spec } };
    await api.put(this.nodePath(), merged);
    return { status: CommandStatus.SUCCEEDED, message: `${this.opts.node} ${what}` };
  }

  /** SIGTERM to the container's processes (found by cgroup); the kubelet restarts the container. */
  private restartContainer(c: Command): Outcome {
    const t = c.target;
    const id = t ? this.opts.containerId?.(t.namespace, t.pod, t.container || undefined) : undefined;
    if (!id)
      return {
        status: CommandStatus.FAILED,
        message: `no running container found for ${t?.namespace}/${t?.pod}/${t?.container}`,
      };
    const pids = this.processesOf(id);
    if (pids.length === 0) {
      return {
        status: CommandStatus.FAILED,
        message: `no process of container ${id.slice(0, 12)} under ${this.opts.hostRoot}/proc`,
      };
    }
    if (c.dryRun)
      return {
        status: CommandStatus.DRY_RUN,
        message: `would send SIGTERM to ${pids.length} processes of ${id.slice(0, 12)}`,
      };
    for (const pid of pids) process.kill(pid, 'SIGTERM');
    return {
      status: CommandStatus.SUCCEEDED,
      message: `sent SIGTERM to ${pids.length} processes of container ${id.slice(0, 12)}`,
    };
  }

  private killProcess(c: Command): Outcome {
    if (!this.opts.allowProcessKill) {
      return {
        status: CommandStatus.REJECTED,
        message: 'process.kill is off on this agent (opt in with --allow-process-kill)',
      };
    }
    const pid = Number(c.params['pid']);
    if (!Number.isInteger(pid) || pid <= 1)
      return { status: CommandStatus.REJECTED, message: `refusing pid ${c.params['pid']}` };
    const signal = (c.params['signal'] ?? 'SIGTERM') as NodeJS.Signals;
    if (c.dryRun) return { status: CommandStatus.DRY_RUN, message: `would send ${signal} to pid ${pid}` };
    process.kill(pid, signal);
    return { status: CommandStatus.SUCCEEDED, message: `sent ${signal} to pid ${pid}` };
  }

  private processesOf(containerId: string): number[] {
    const proc = join(this.opts.hostRoot, 'proc');
    const out: number[] = [];
    for (const entry of safeList(proc)) {
      if (!/^\d+$/.test(entry)) continue;
      try {
        if (readFileSync(join(proc, entry, 'cgroup'), 'utf8').includes(containerId)) out.push(Number(entry));
      } catch {
        // the process ended while we looked
      }
    }
    return out;
  }
}

function safeList(dir: string): string[] {
  try {
    return readdirSync(dir);
  } catch {
    return [];
  }
}

/** A Kubernetes timestamp (metav1.Time: RFC 3339 in whole seconds). */
function rfc3339(ms: number): string {
  return new Date(ms).toISOString().replace(/\.\d{3}Z$/, 'Z');
}
