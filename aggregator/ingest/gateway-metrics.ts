import { Counter, Histogram, type Registry } from 'prom-client';

export type GatewayMetrics = ReturnType<typeof createGatewayMetrics>;

export function createGatewayMetrics(registry: Registry) {
  return {
    batches: new Counter({
      name: 'vigil_aggregator_batches_total',
      help: 'Batches received, by result (accepted, duplicate, rejected, invalid_sequence)',
      labelNames: ['result'] as const,
      registers: [registry],
    }),
    malformed: new Counter({
      name: 'vigil_aggregator_malformed_frames_total',
      help: 'Agent stream frames that did not decode',
      registers: [registry],
    }),
    badHello: new Counter({
      name: 'vigil_aggregator_bad_hellos_total',
      help: 'Hellos refused (empty or invalid node name)',
      registers: [registry],
    }),
    storeErrors: new Counter({
      name: 'vigil_aggregator_store_errors_total',
      help: 'Batches that could not be stored (the agent resends them)',
      registers: [registry],
    }),
    unresolvedRefs: new Counter({
      name: 'vigil_aggregator_unresolved_refs_total',
      help: 'Summary dictionary refs (series, log streams, unchanged values, log template ids) no definition was held for',
      registers: [registry],
    }),
    ackSeconds: new Histogram({
      name: 'vigil_aggregator_ack_seconds',
      help: 'From a batch arriving to its ack being sent (includes the LMDB commit)',
      buckets: [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 1],
      registers: [registry],
    }),
  };
}
