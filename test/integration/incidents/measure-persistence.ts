// What persisting incidents costs: a signal storm fed at a steady pace through the engine with and without
// the LMDB incident store (CPU, writes, write latency, bytes stored), then a restart's load-and-restore time.
// `npx node test/integration/incidents/measure-persistence.ts` prints a table per part.
import { readdirSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import { pino } from 'pino';
import { createIncidentEngine } from '../../../aggregator/correlate/engine.ts';
import type { EngineStateWrite } from '../../../aggregator/correlate/engine-state.ts';
import { IncidentStore } from '../../../aggregator/store/incident-store.ts';
import { openLmdb } from '../../../common/store/lmdb.ts';
import { tempDir } from '../../support/in-process.ts';
import { signalStorm as storm } from '../../support/signal-storm.ts';

const logger = pino({ level: 'silent' });

function dirBytes(dir: string): number {
  return readdirSync(dir).reduce((n, f) => n + statSync(join(dir, f)).size, 0);
}

/** Feeds the storm in batches of `batch` every `everyMs` (a steady rate), then flushes. */
async function feed(persist: boolean, faults: number, clients: number, windows: number) {
  const { topo, signals } = storm(faults, clients, windows);
  const dir = tempDir('measure-persist');
  const { root } = openLmdb(join(dir, 'aggregator.mdb'), logger);
  const real = new IncidentStore(root, logger);
  const saves: number[] = [];
  let written = 0;
  const store = {
    load: () => real.load(),
    async save(w: EngineStateWrite) {
      const t = performance.now();
      await real.save(w);
      saves.push(performance.now() - t);
      written += w.incidents.length;
    },
  };
  const engine = createIncidentEngine({ topology: topo, logger, ...(persist ? { store } : {}) });
  const batch = 200;
  const everyMs = 50;
  const cpu0 = process.cpuUsage();
  const t0 = performance.now();
  for (let i = 0; i < signals.length; i += batch) {
    engine.ingestSignals(signals.slice(i, i + batch));
    await new Promise((r) => setTimeout(r, everyMs));
  }
  await engine.flush();
  const wallS = (performance.now() - t0) / 1000;
  const cpu = process.cpuUsage(cpu0);
  engine.stop();
  await root.close();
  saves.sort((a, b) => a - b);
  return {
    store: persist ? 'lmdb' : 'none',
    signals: signals.length,
    incidents: engine.incidents().length,
    'wall s': +wallS.toFixed(1),
    'cpu s': +((cpu.user + cpu.system) / 1e6).toFixed(2),
    flushes: saves.length,
    'flushes/s': +(saves.length / wallS).toFixed(1),
    'records written': written,
    'commit p50 ms': saves.length ? +(saves[Math.floor(saves.length / 2)] ?? 0).toFixed(1) : 0,
    'commit max ms': saves.length ? +(saves[saves.length - 1] ?? 0).toFixed(1) : 0,
    'file MB': +(dirBytes(dir) / 1e6).toFixed(1),
    dir,
  };
}

/** A restart: opening the store, loading and restoring what the storm left. */
function restart(dir: string, faults: number, clients: number) {
  const { topo } = storm(faults, clients, 0);
  const t0 = performance.now();
  const { root } = openLmdb(join(dir, 'aggregator.mdb'), logger);
  const engine = createIncidentEngine({ topology: topo, logger, store: new IncidentStore(root, logger) });
  const ms = performance.now() - t0;
  const incidents = engine.incidents();
  const groups = incidents.reduce((n, i) => n + i.groups.length, 0);
  engine.stop();
  void root.close();
  return { incidents: incidents.length, groups, 'open+load+restore ms': +ms.toFixed(1) };
}

const runs = [
  [20, 50, 10],
  [50, 100, 10],
] as const;
// Warm the JIT on both paths first, so the first measured row does not pay for it.
await feed(false, 5, 20, 3);
await feed(true, 5, 20, 3);
const rows = [];
const restarts = [];
for (const [faults, clients, windows] of runs) {
  rows.push(await feed(false, faults, clients, windows));
  const persisted = await feed(true, faults, clients, windows);
  rows.push(persisted);
  restarts.push(restart(persisted.dir, faults, clients));
}
console.table(rows.map(({ dir: _dir, ...r }) => r));
console.table(restarts);
