// `npm run demo`: the whole system on this machine. The simulated cluster runs the chosen scenario; an
// aggregator and one agent per simulated node run as real processes (agents read their node's files and
// watch their node's pods through the simulator's Kubernetes API); the terminal shows live what the
// aggregator sees: nodes, signals as they arrive, and the scenario's fault.
import { type ChildProcess, spawn, spawnSync } from 'node:child_process';
import { createWriteStream, mkdirSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { create } from '@bufbuild/protobuf';
import { pino } from 'pino';
import { AGENT_NODE_FLAGS } from '../../agent/v8-flags.ts';
import { createClient } from '../../common/grpc/adapter.ts';
import { freePort } from '../../common/net/free-port.ts';
import type { Signal } from '../../common/signal.ts';
import { signalFromWire } from '../../common/signal-wire.ts';
import {
  IncidentService,
  ListActionsRequestSchema,
  ListIncidentsRequestSchema,
} from '../../proto/gen/vigil/v1/incidents_pb.js';
import {
  IntegrationService,
  ListNodesRequestSchema,
  type WatchEvent,
  WatchRequestSchema,
} from '../../proto/gen/vigil/v1/integration_pb.js';
import { type FaultEvent, startSimulator } from '../../sim/simulator.ts';
import { NODE_HEADER, nodeRow } from '../commands/nodes.ts';
import { table } from '../format.ts';

/** How long a process may take to stop (flush and close) before the demo kills it. */
const STOP_DEADLINE_MS = 20_000;

/** How long the demo's agents learn their logs before signalling; the fault timeline starts after it. */
const LOG_WARMUP_SECONDS = 10;

/**
 * Warms Node's compile cache for the demo's processes (scripts/warm-compile-cache.ts): started with it, none of
 * their threads loads the TypeScript stripper (≈ 30 MiB less per agent). Kept between runs; undefined when the
 * warm-up failed (the processes then run as they would without it).
 */
function warmCompileCache(dir: string): string | undefined {
  const cacheDir = resolve(dir, 'node-compile-cache');
  const r = spawnSync(process.execPath, [resolve('scripts/warm-compile-cache.ts'), cacheDir], {
    stdio: 'ignore',
  });
  return r.status === 0 ? cacheDir : undefined;
}

function startChild(
  args: string[],
  logFile: string,
  compileCache: string | undefined,
  nodeFlags: readonly string[] = [],
): ChildProcess {
  const child = spawn(process.execPath, [...nodeFlags, resolve('cli/main.ts'), ...args], {
    // Its own process group: Ctrl-C reaches the demo alone, which stops the agents before the aggregator. In the
    // terminal's group every process got Ctrl-C's SIGINT and then the demo's SIGTERM, and a second signal
    // makes a Vigil process exit without flushing.
    detached: true,
    stdio: ['ignore', 'ignore', 'pipe'],
    env: compileCache === undefined ? process.env : { ...process.env, NODE_COMPILE_CACHE: compileCache },
  });
  child.stderr!.pipe(createWriteStream(logFile, { flags: 'a' }));
  return child;
}

function describeSubject(s: Signal['subject']): string {
  if (s.pod) return `${s.namespace}/${s.pod}${s.container ? `/${s.container}` : ''}`;
  return s.name ?? s.node ?? s.kind;
}

export interface DemoOptions {
  scenario: string;
  speed: string;
  dir: string;
  duration?: string;
}

export async function runDemo(opts: DemoOptions): Promise<void> {
  const dir = resolve(opts.dir, new Date().toISOString().replace(/[:.]/g, '-'));
  const logs = join(dir, 'logs');
  mkdirSync(logs, { recursive: true });
  const simLogger = pino({ level: 'info' }, pino.destination({ dest: join(logs, 'sim.log'), sync: false }));
  const sim = await startSimulator({
    scenario: opts.scenario,
    root: join(dir, 'cluster'),
    speed: Number(opts.speed) || 1,
    logger: simLogger,
    // The fault waits for the agents: at `--speed 2` it would otherwise come while they still start or learn.
    holdFaults: true,
  });
  const faults: string[] = [];
  sim.events.on('fault', (f: FaultEvent) =>
    faults.push(`${new Date().toISOString().slice(11, 19)}  ${JSON.stringify(f)}`),
  );

  const compileCache = warmCompileCache(opts.dir);
  const grpcPort = await freePort();
  const children: ChildProcess[] = [
    startChild(
      [
        'aggregator',
        '--grpc-host',
        '127.0.0.1',
        '--grpc-port',
        String(grpcPort),
        '--http-port',
        '0',
        '--state-dir',
        join(dir, 'aggregator'),
        '--kubeconfig',
        sim.kubeconfigPath,
        '--policy',
        resolve('policies/default.yaml'),
        '--incident-quiet-seconds',
        '20',
      ],
      join(logs, 'aggregator.log'),
      compileCache,
    ),
  ];
  for (const node of sim.nodes) {
    children.push(
      startChild(
        [
          'agent',
          '--node',
          node,
          '--aggregator',
          `127.0.0.1:${grpcPort}`,
          '--state-dir',
          join(dir, 'agents', node),
          '--host-root',
          sim.nodeRoot(node),
          '--kubeconfig',
          sim.kubeconfigPath,
          '--http-port',
          '0',
          '--window-seconds',
          '2',
          // The scenario's fault comes within a minute: learn the normal log templates for ten seconds, not five
          // minutes as on a real node.
          '--log-warmup-seconds',
          String(LOG_WARMUP_SECONDS),
        ],
        join(logs, `agent-${node}.log`),
        compileCache,
        AGENT_NODE_FLAGS,
      ),
    );
  }

  const client = createClient(IntegrationService, `127.0.0.1:${grpcPort}`);
  const incidentClient = createClient(IncidentService, `127.0.0.1:${grpcPort}`);
  const approveHint = `npm run vigil -- approve <action-id> --aggregator 127.0.0.1:${grpcPort}`;

  /** Incidents with their root cause, reasons and remediation: the story the demo is about. */
  const incidentPanel = async (): Promise<{ count: number; text: string }> => {
    try {
      const deadline = Date.now() + 2000;
      const [res, acts] = await Promise.all([
        incidentClient.listIncidents(create(ListIncidentsRequestSchema, { includeResolved: true }), {
          deadline,
        }),
        incidentClient.listActions(create(ListActionsRequestSchema, {}), { deadline }),
      ]);
      if (res.incidents.length === 0) return { count: 0, text: '(none yet)' };
      const text = res.incidents
        .map((i) => {
          const top = i.rootCauses[0];
          const lines = [
            `[${i.status.toUpperCase()}] ${i.id}  ${i.title}  — ${i.signalCount} signals on ${i.nodes.length} node(s)`,
            top
              ? `  root cause: ${top.kind} ${top.object} (score ${top.score.toFixed(2)})`
              : '  root cause: (ranking…)',
            ...(top?.reasons ?? []).slice(0, 3).map((r) => `    because ${r.slice(0, 150)}`),
            ...i.rootCauses.slice(1, 3).map((c) => `  then: ${c.kind} ${c.object} (${c.score.toFixed(2)})`),
            ...acts.actions
              .filter((a) => a.incidentId === i.id)
              .map(
                (a) =>
                  `  action ${a.id}: ${a.type} ${a.target} [${a.mode}] → ${a.status}${
                    a.status === 'pending_approval'
                      ? `  (approve: ${approveHint.replace('<action-id>', a.id)})`
                      : a.message
                        ? ` (${a.message.slice(0, 100)})`
                        : ''
                  }`,
              ),
          ];
          return lines.join('\n');
        })
        .join('\n\n');
      return { count: res.incidents.length, text };
    } catch {
      return { count: 0, text: '(aggregator not reachable yet)' };
    }
  };
  const signals: Signal[] = [];
  let signalCount = 0;
  let stopping = false;
  const watch = () => {
    if (stopping) return;
    const stream = client.watch(create(WatchRequestSchema));
    stream.on('data', (e: WatchEvent) => {
      if (e.event.case !== 'summary') return;
      for (const s of e.event.value.signals) {
        signalCount++;
        signals.push(signalFromWire(s));
        if (signals.length > 6) signals.shift();
      }
    });
    stream.on('error', () => setTimeout(watch, 1000));
  };
  watch();

  const tty = process.stdout.isTTY;
  const header =
    `Vigil demo — scenario "${sim.scenario.name}": ${sim.scenario.description ?? ''}\n`.slice(0, 400) +
    `cluster: ${sim.nodes.length} nodes, API ${sim.url}; aggregator 127.0.0.1:${grpcPort}; state and logs in ${dir}\n` +
    `ground truth: ${sim.groundTruth.rootCause.kind} on ${sim.groundTruth.rootCause.object} at +${sim.groundTruth.startsAt}s of the fault timeline (simulated). Ctrl-C stops.\n`;
  process.stdout.write(tty ? `\x1b[2J\x1b[1;1H${header}` : `${header}\n`);
  let ticks = 0;
  /** When every agent was first seen connected (real ms); the fault timeline starts a warm-up later. */
  let allConnectedMs: number | undefined;
  const render = async (force = false) => {
    ticks++;
    let nodes: string;
    try {
      const res = await client.listNodes(create(ListNodesRequestSchema), { deadline: Date.now() + 2000 });
      const connected = res.nodes.filter((n) => n.connected).length;
      if (allConnectedMs === undefined && connected >= sim.nodes.length) allConnectedMs = Date.now();
      if (allConnectedMs !== undefined && Date.now() - allConnectedMs >= LOG_WARMUP_SECONDS * 1000)
        sim.releaseFaults();
      nodes = res.nodes.length
        ? table(
            NODE_HEADER,
            res.nodes.map((n) => nodeRow(n)),
          )
        : 'waiting for agents…';
    } catch {
      nodes = 'waiting for the aggregator…';
    }
    const origin = sim.faultsOrigin();
    const elapsed = Math.round(sim.clock.elapsedMs() / 1000);
    const timeline =
      origin === null
        ? `fault timeline held until all ${sim.nodes.length} agents are connected and have learned for ${LOG_WARMUP_SECONDS} s`
        : `fault timeline +${Math.round((sim.clock.elapsedMs() - origin) / 1000)}s`;
    const feed = signals.length
      ? signals
          .map((s) =>
            `${new Date(s.timeMs).toISOString().slice(11, 19)}  ${s.severity.padEnd(8)} ${s.kind.padEnd(22)} ${describeSubject(s.subject).padEnd(36)} ${s.explanation}`.slice(
              0,
              200,
            ),
          )
          .join('\n')
      : '(none yet)';
    const panel = await incidentPanel();
    const body =
      `simulated time +${elapsed}s (${timeline})   raw signals: ${signalCount}   incidents: ${panel.count}\n\n${nodes}\n\n` +
      `incidents:\n${panel.text}\n\n` +
      `faults injected:\n${faults.length ? faults.join('\n') : '(none yet)'}\n\nlatest signals:\n${feed}\n`;
    if (tty) process.stdout.write(`\x1b[5;1H\x1b[J${body}`);
    else if (force || ticks % 5 === 0) process.stdout.write(`${body}\n`);
  };
  const timer = setInterval(() => void render(), 1000);

  const stop = async () => {
    if (stopping) process.exit(130); // a second Ctrl-C: do not wait (the exit handler below kills the rest)
    stopping = true;
    clearInterval(timer);
    await render(true);
    client.close();
    incidentClient.close();
    const exits = (list: ChildProcess[]) =>
      Promise.all(
        list.map(
          (c) =>
            new Promise((ok) => {
              if (c.exitCode !== null || c.signalCode !== null) return ok(null);
              // A process that has not stopped in time is killed: its state is crash-safe, and the demo must end.
              const deadline = setTimeout(() => c.kill('SIGKILL'), STOP_DEADLINE_MS);
              c.once('exit', () => {
                clearTimeout(deadline);
                ok(null);
              });
              c.kill('SIGTERM');
            }),
        ),
      );
    await exits(children.slice(1)); // agents first, so their last windows reach the aggregator
    await exits(children.slice(0, 1));
    await sim.stop();
    process.stdout.write('\ndemo stopped\n');
    process.exit(0);
  };
  process.on('SIGINT', () => void stop());
  process.on('SIGTERM', () => void stop());
  process.on('SIGHUP', () => void stop()); // the terminal closed
  // Detached, the children would outlive a demo that ends any other way (an error, a second Ctrl-C): they end
  // with it. Killing is safe: their state is crash-consistent.
  process.on('exit', () => {
    for (const c of children) if (c.exitCode === null && c.signalCode === null) c.kill('SIGKILL');
  });
  if (opts.duration) setTimeout(() => void stop(), Number(opts.duration) * 1000);
}
