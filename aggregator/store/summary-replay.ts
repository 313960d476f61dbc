// On start, the signals of summaries the aggregator stored (and acknowledged) after its last incident-state
// write go through the incident engine again: a SIGKILL inside the write debounce then loses no signal, only
// the API decisions of that moment. The engine says from which sequence each node replays.
import { fromBinary } from '@bufbuild/protobuf';
import type { Logger } from '../../common/log.ts';
import { SummarySchema } from '../../proto/gen/vigil/v1/summary_pb.js';
import type { IncidentEngine } from '../correlate/engine.ts';

/** Where stored summaries are read (`AggregatorStore`). */
export interface StoredSummaries {
  readSummaries(node: string, fromSeq?: number): Iterable<{ seq: number; summary: Uint8Array }>;
}

/** Feeds the engine the stored summaries it has not seen; returns how many. */
export function replayStoredSummaries(
  store: StoredSummaries,
  engine: Pick<IncidentEngine, 'ingest' | 'summariesToReplay'>,
  nodes: readonly string[],
  logger: Logger,
): number {
  let replayed = 0;
  for (const { node, fromSeq } of engine.summariesToReplay(nodes)) {
    for (const { seq, summary } of store.readSummaries(node, fromSeq)) {
      try {
        engine.ingest(node, fromBinary(SummarySchema, summary), seq);
        replayed += 1;
      } catch (error) {
        logger.error({ node, seq, err: error }, 'stored summary does not decode; not replayed');
      }
    }
  }
  if (replayed > 0)
    logger.info({ summaries: replayed }, 'replayed stored summaries newer than the incident state');
  return replayed;
}
