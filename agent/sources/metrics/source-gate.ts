// One warning per missing metric source, never one per sample: a source that fails is switched off and
// retried quietly now and then (a simulated node may write its files after the agent starts; a kernel
// module may be loaded later), and announced once when it comes back.
import type { Logger } from '../../../common/log.ts';

const RETRY_MS = 30_000;

interface Off {
  retryAtMs: number;
}

export class SourceGate {
  private readonly logger: Logger;
  private readonly retryMs: number;
  private readonly off = new Map<string, Off>();
  private readonly warned = new Set<string>();

  constructor(logger: Logger, retryMs = RETRY_MS) {
    this.logger = logger;
    this.retryMs = retryMs;
  }

  /** Whether to read `source` now: always while it works, once per retry period while it is off. */
  shouldTry(source: string, nowMs: number): boolean {
    const o = this.off.get(source);
    return o === undefined || nowMs >= o.retryAtMs;
  }

  /** Marks `source` unavailable; logs the first time only. */
  fail(source: string, nowMs: number, detail: Record<string, unknown>, message: string): void {
    this.off.set(source, { retryAtMs: nowMs + this.retryMs });
    if (this.warned.has(source)) return;
    this.warned.add(source);
    this.logger.warn({ source, ...detail }, message);
  }

  /** Marks `source` working again. */
  ok(source: string): void {
    if (!this.off.delete(source)) return;
    this.logger.info({ source }, 'metric source available again');
  }

  isOff(source: string): boolean {
    return this.off.has(source);
  }

  /** Sources currently off, for status and tests. */
  offSources(): string[] {
    return [...this.off.keys()];
  }
}
