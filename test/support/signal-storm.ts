// A signal storm for the incident engine's measurements: per fault a database OOM-killed on one node and its
// clients on every node reporting connection errors window after window (what one real fault looks like).
import type { Signal } from '../../common/signal.ts';
import { StaticTopology } from './static-topology.ts';

export function signalStorm(faults: number, clientsPerFault: number, windows: number, nodes = 100) {
  const topo = new StaticTopology();
  const nodeNames = Array.from({ length: nodes }, (_, i) => `node-${i}`);
  const signals: Signal[] = [];
  const T0 = Date.now();
  for (let f = 0; f < faults; f++) {
    const ns = `ns${f}`;
    const dbNode = nodeNames[f % nodes] ?? 'node-0';
    topo.addWorkload({
      namespace: ns,
      app: 'db',
      kind: 'StatefulSet',
      replicas: 1,
      nodes: [dbNode],
      port: 5432,
    });
    const clients = topo.addWorkload({
      namespace: ns,
      app: 'api',
      replicas: clientsPerFault,
      nodes: nodeNames,
      port: 8080,
    });
    signals.push({
      kind: 'pod.oom_killed',
      subject: { kind: 'pod', namespace: ns, pod: 'db-0', node: dbNode },
      timeMs: T0,
      severity: 'error',
      score: 1,
      explanation: 'oom',
    });
    for (let w = 0; w < windows; w++)
      for (const p of clients)
        signals.push({
          kind: 'log.error_rate_jump',
          subject: { kind: 'pod', namespace: ns, pod: p, node: topo.pod(ns, p)?.node ?? '' },
          timeMs: T0 + 1000 + w * 10_000,
          severity: 'error',
          score: 0.7,
          explanation: 'errors',
          evidence: { lines: ['dial tcp db:5432: connect: connection refused', 'retrying in 1s'] },
        });
  }
  // Interleave the faults, as a storm arrives.
  signals.sort((a, b) => a.timeMs - b.timeMs);
  return { topo, signals };
}
