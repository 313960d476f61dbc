// The agent's log pipeline as the end-to-end tests run it: real tailer, mining worker and LMDB, started.
import { LogPipeline } from '../../../agent/pipeline/log-pipeline.ts';
import type { Signal } from '../../../common/signal.ts';
import { openLmdb } from '../../../common/store/lmdb.ts';
import { quietLogger } from '../../support/in-process.ts';

/** The pipeline on `host` with its state in `dbPath`; the signals it emits are collected in `signals`. */
export async function startPipeline(
  dbPath: string,
  host: string,
  warmupWindows: number,
  pollIntervalMs = 20,
) {
  const store = openLmdb(dbPath, quietLogger);
  const signals: Signal[] = [];
  const pipeline = await LogPipeline.open({
    root: store.root,
    hostRoot: host,
    node: 'n1',
    logger: quietLogger,
    emit: (s) => signals.push(s),
    warmupWindows,
    pollIntervalMs,
  });
  pipeline.start();
  return { store, pipeline, signals };
}
