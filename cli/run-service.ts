// Runs a long-lived process until SIGTERM or SIGINT, then stops it cleanly (flushing what it holds) and
// exits 0. A second signal exits at once. Configuration errors exit 2 with one clear line.
import type { Logger } from 'pino';
import { ConfigError } from '../common/config/settings.ts';

export async function runService(
  logger: Logger,
  start: () => Promise<{ stop(): Promise<void> }>,
): Promise<void> {
  let service: { stop(): Promise<void> };
  try {
    service = await start();
  } catch (error) {
    logger.fatal({ err: error }, 'failed to start');
    logger.flush();
    process.exitCode = 1;
    setTimeout(() => process.exit(1), 100).unref();
    return;
  }
  let stopping = false;
  const onSignal = (signal: NodeJS.Signals) => {
    if (stopping) {
      logger.warn(
        { signal },
        'second signal: exiting now without flushing (lines not yet committed are read again at the next start)',
      );
      // pino writes the line from libuv's pool (its flush does not wait for a write in flight): give it a moment.
      setTimeout(() => dieOf(signal), 100);
      return;
    }
    stopping = true;
    logger.info({ signal }, 'stopping');
    service.stop().then(
      () => {
        logger.info('stopped cleanly');
        logger.flush(() => process.exit(0));
      },
      (error: unknown) => {
        logger.error({ err: error }, 'error while stopping');
        logger.flush(() => process.exit(1));
      },
    );
  };
  process.on('SIGTERM', onSignal);
  process.on('SIGINT', onSignal);
}

/**
 * Ends the process at once by the signal's default action, as if no handler were installed (exit status
 * 128 + the signal's number). Not `process.exit()`: that joins libuv's thread pool, where lmdb's write thread
 * may be waiting for this thread to run a transaction callback it will never run again, and the process then
 * hangs for good (lmdb-js#336; seen in about 1 exit in 30 while an agent was writing). Dying of the signal waits
 * for nothing, and what was not committed is safe: the stores are crash-consistent (the SIGKILL tests).
 */
export function dieOf(signal: NodeJS.Signals): void {
  process.removeAllListeners(signal); // Node restores the default action when the last listener goes
  process.kill(process.pid, signal);
}

/** Prints a config error as one line and exits 2; rethrows anything else. */
export function exitOnConfigError(error: unknown): never {
  if (error instanceof ConfigError) {
    process.stderr.write(`vigil: ${error.message}\n`);
    process.exit(2);
  }
  throw error;
}
