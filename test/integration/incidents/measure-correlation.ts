import { performance } from 'node:perf_hooks';
import { pino } from 'pino';
import { createIncidentEngine } from '../../../aggregator/correlate/engine.ts';
import { signalStorm } from '../../support/signal-storm.ts';

const logger = pino({ level: 'silent' });
function run(nodes: number, clientsPerFault: number, faults: number, windows: number) {
  const { topo, signals } = signalStorm(faults, clientsPerFault, windows, nodes);
  const engine = createIncidentEngine({ topology: topo, logger });
  const lat: number[] = [];
  const t0 = performance.now();
  for (const s of signals) {
    const a = performance.now();
    engine.ingestSignals([s]);
    lat.push(performance.now() - a);
  }
  engine.tick();
  const total = performance.now() - t0;
  lat.sort((a, b) => a - b);
  const live = engine.incidents().filter((i) => !i.resolvedBy?.startsWith('merged'));
  const correct = live.filter(
    (i) => i.rootCauses[0]?.object.endsWith('/db-0') && i.rootCauses[0]?.kind === 'oom_kill',
  ).length;
  return {
    signals: signals.length,
    faults,
    incidents: live.length,
    noiseReduction: +(1 - live.length / signals.length).toFixed(4),
    ac1: +(correct / faults).toFixed(3),
    signalsPerSec: Math.round(signals.length / (total / 1000)),
    p50us: +(lat[Math.floor(lat.length * 0.5)]! * 1000).toFixed(1),
    p99us: +(lat[Math.floor(lat.length * 0.99)]! * 1000).toFixed(1),
    maxMs: +lat[lat.length - 1]!.toFixed(2),
  };
}
const only = process.argv[2];
console.table(
  only ? [run(100, 50, 20, 10)] : [run(12, 30, 1, 7), run(100, 50, 20, 10), run(500, 100, 50, 10)],
);
