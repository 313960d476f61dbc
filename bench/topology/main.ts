// What the aggregator's topology queries cost on a big cluster. Usage:
//   npx node bench/topology/main.ts [--nodes 500] [--pods-per-node 30] [--before <checkout>]
// Fills the simulator's API server (sim/api, the real HTTP list+watch protocol) with nodes, 100 Deployments
// (each through a ReplicaSet) and their pods, starts KubeTopology on it (client-node informers) and times the
// queries the correlator, guardrails and verification make: one node's pods, and one workload's pods, both
// as the code did before the pods-by-node index (walking every node's pods) and as it does now. `--before`
// also runs another checkout's KubeTopology in the same process. Prints a table, writes
// bench/results/topology.json.
import { writeFileSync } from 'node:fs';
import { loadavg } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { KubeConfig } from '@kubernetes/client-node';
import { pino } from 'pino';
import type { PodInfo, Topology } from '../../aggregator/state/topology.ts';
import { writeKubeconfig } from '../../sim/api/kubeconfig.ts';
import { resourceByKind } from '../../sim/api/resources.ts';
import { startApiServer } from '../../sim/api/server.ts';
import { Store } from '../../sim/api/store.ts';
import type { KubeObject } from '../../sim/api/types.ts';
import { createRandom } from '../../sim/random.ts';
import { tempDir } from '../../test/support/in-process.ts';

const root = resolve(dirname(fileURLToPath(import.meta.url)), '../..');
const { values: args } = parseArgs({
  options: {
    nodes: { type: 'string', default: '500' },
    'pods-per-node': { type: 'string', default: '30' },
    before: { type: 'string' },
  },
});
const NODES = Number(args.nodes);
const PER_NODE = Number(args['pods-per-node']);
const DEPLOYMENTS = 100;
const NAMESPACES = 10;
const logger = pino({ level: 'silent' });

const store = new Store({ random: createRandom(1), historySize: 100 });
const create = (kind: string, object: unknown) => store.create(resourceByKind(kind), object as KubeObject);
const owner = (kind: string, name: string) => [
  { apiVersion: 'apps/v1', kind, name, uid: `${name}-uid`, controller: true },
];
for (let i = 0; i < NAMESPACES; i++) create('Namespace', { metadata: { name: `team-${i}` } });
for (let n = 0; n < NODES; n++) create('Node', { metadata: { name: `node-${n}` } });
for (let d = 0; d < DEPLOYMENTS; d++)
  create('ReplicaSet', {
    metadata: {
      name: `app-${d}-rs`,
      namespace: `team-${d % NAMESPACES}`,
      ownerReferences: owner('Deployment', `app-${d}`),
    },
    spec: { selector: { matchLabels: { app: `app-${d}` } } },
  });
for (let i = 0; i < NODES * PER_NODE; i++) {
  const d = i % DEPLOYMENTS;
  create('Pod', {
    metadata: {
      name: `app-${d}-${i}`,
      namespace: `team-${d % NAMESPACES}`,
      ownerReferences: owner('ReplicaSet', `app-${d}-rs`),
    },
    spec: { nodeName: `node-${i % NODES}`, containers: [{ name: 'c', image: 'busybox' }] },
  });
}
const api = await startApiServer({ store, logger });
const kc = new KubeConfig();
kc.loadFromFile(writeKubeconfig({ server: api.url, path: join(tempDir('bench-topology'), 'kubeconfig') }));

/** Mean ms per call over `rounds` calls, after 3 warm-up calls. */
function time(rounds: number, f: (i: number) => unknown): number {
  for (let i = 0; i < 3; i++) f(i);
  const t0 = performance.now();
  for (let i = 0; i < rounds; i++) f(i);
  return (performance.now() - t0) / rounds;
}

type Row = { code: string; query: string; ms: number };
const rows: Row[] = [];
const workload = (i: number) => `Deployment/team-${i % NAMESPACES}/app-${i % DEPLOYMENTS}`;
for (const [code, checkout] of [
  ...(args.before ? [['before', resolve(args.before)] as const] : []),
  ['this checkout', root] as const,
]) {
  const { KubeTopology } = await import(join(checkout, 'aggregator/state/kube-topology.ts'));
  const topo = new KubeTopology(kc, logger) as Topology & {
    start(): Promise<void>;
    stop(): Promise<void>;
    synced(): boolean;
  };
  await topo.start();
  while (!topo.synced() || topo.nodes().length < NODES) await new Promise((r) => setTimeout(r, 50));
  const walk = (w: string) =>
    topo
      .nodes()
      .flatMap((n) => topo.podsOnNode(n.name))
      .filter((p: PodInfo) => p.workload === w);
  rows.push({ code, query: 'one node’s pods', ms: time(200, (i) => topo.podsOnNode(`node-${i % NODES}`)) });
  rows.push({ code, query: 'a workload’s pods, walking every node', ms: time(5, (i) => walk(workload(i))) });
  if (typeof topo.podsOfWorkload === 'function')
    rows.push({ code, query: 'podsOfWorkload', ms: time(200, (i) => topo.podsOfWorkload(workload(i))) });
  await topo.stop();
}
await api.close();

console.log(`\n${NODES} nodes × ${PER_NODE} pods (${NODES * PER_NODE} pods, ${DEPLOYMENTS} Deployments)\n`);
console.log(`${'code'.padEnd(15)} ${'query'.padEnd(40)} ${'ms a call'.padStart(10)}`);
for (const r of rows)
  console.log(`${r.code.padEnd(15)} ${r.query.padEnd(40)} ${r.ms.toFixed(3).padStart(10)}`);
const out = join(root, 'bench/results/topology.json');
writeFileSync(
  out,
  `${JSON.stringify({ generatedAt: new Date().toISOString(), loadAvg1m: loadavg()[0], nodes: NODES, podsPerNode: PER_NODE, deployments: DEPLOYMENTS, rows }, null, 2)}\n`,
);
console.log(`\nwrote ${out}`);
