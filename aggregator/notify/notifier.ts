// Outbound notifications: one message per incident per target, sent after a short group wait (so the
// ranking settles and absorbed symptoms are in), updated only when something a person cares about changes
// (status, severity, top root cause) at most once per group interval, and always on resolve. Never one per
// signal. Transport is fetch; 429 / 5xx / network errors retry with exponential backoff and jitter, 4xx is
// dropped (retrying cannot help). The queue is bounded: one slot per incident and target holding the latest
// state, and past the cap the oldest firing update is dropped and counted.
import type { Logger } from '../../common/log.ts';
import type { Incident } from '../correlate/incident.ts';
import { alertmanagerPayload, pagerDutyEvent } from './payloads.ts';

export interface NotifyTarget {
  url: string;
  format: 'alertmanager' | 'pagerduty';
  /** PagerDuty integration key (required for `pagerduty`). */
  routingKey?: string;
  /** Extra headers, e.g. an authorization token. */
  headers?: Record<string, string>;
}

export interface NotifierOptions {
  targets: NotifyTarget[];
  logger: Logger;
  clock?: () => number;
  /** Delay before an incident's first message (Alertmanager `group_wait`), default 10 s. */
  groupWaitMs?: number;
  /** Minimum time between two updates of one incident (Alertmanager `group_interval`), default 60 s. */
  groupIntervalMs?: number;
  maxAttempts?: number;
  retryBaseMs?: number;
  retryMaxMs?: number;
  requestTimeoutMs?: number;
  /** Pending messages kept at most. */
  maxQueue?: number;
  receiver?: string;
  externalURL?: string;
  /** How often due messages are looked for, default 250 ms. */
  pollMs?: number;
}

export interface NotifierStats {
  sent: number;
  failed: number;
  retried: number;
  dropped: number;
}

interface Slot {
  target: NotifyTarget;
  incident: Incident;
  fingerprint: string;
  dueMs: number;
  attempts: number;
  sentFingerprint?: string;
  sentMs?: number;
  /** True once a firing message went out: a resolve is only sent for an incident someone was told about. */
  announced: boolean;
  done: boolean;
}

export type SendResult = { ok: true } | { ok: false; retryable: boolean; message: string };

function fingerprint(i: Incident): string {
  const top = i.rootCauses[0];
  return `${i.status}|${i.severity}|${top ? `${top.kind}|${top.object}` : ''}`;
}

export class Notifier {
  readonly #options: Required<Omit<NotifierOptions, 'targets' | 'logger' | 'clock'>>;
  readonly #targets: NotifyTarget[];
  readonly #logger: Logger;
  readonly #clock: () => number;
  readonly #slots = new Map<string, Slot>();
  readonly stats: NotifierStats = { sent: 0, failed: 0, retried: 0, dropped: 0 };
  #timer: NodeJS.Timeout | undefined;
  #pumping: Promise<void> | undefined;
  #closed = false;

  constructor(options: NotifierOptions) {
    for (const t of options.targets) {
      if (t.format === 'pagerduty' && !t.routingKey)
        throw new Error(`notify target ${t.url}: pagerduty needs a routingKey`);
      new URL(t.url);
    }
    this.#targets = options.targets;
    this.#logger = options.logger;
    this.#clock = options.clock ?? Date.now;
    this.#options = {
      groupWaitMs: options.groupWaitMs ?? 10_000,
      groupIntervalMs: options.groupIntervalMs ?? 60_000,
      maxAttempts: options.maxAttempts ?? 8,
      retryBaseMs: options.retryBaseMs ?? 1000,
      retryMaxMs: options.retryMaxMs ?? 60_000,
      requestTimeoutMs: options.requestTimeoutMs ?? 10_000,
      maxQueue: options.maxQueue ?? 1000,
      receiver: options.receiver ?? 'vigil',
      externalURL: options.externalURL ?? 'http://vigil-aggregator',
      pollMs: options.pollMs ?? 250,
    };
  }

  /**
   * Tells the notifier an incident changed; it decides whether and when a message goes out. `restored`: an
   * incident brought back after an aggregator restart, which receivers were told of before it — so its resolve
   * must go out even if it comes before the re-announcement.
   */
  notify(incident: Incident, opts: { restored?: boolean } = {}): void {
    if (this.#closed) return;
    const now = this.#clock();
    for (const target of this.#targets) {
      const key = `${target.url}|${incident.id}`;
      let slot = this.#slots.get(key);
      const fp = fingerprint(incident);
      if (!slot) {
        if (incident.status === 'resolved') continue;
        this.#makeRoom();
        slot = {
          target,
          incident,
          fingerprint: fp,
          dueMs: now + this.#options.groupWaitMs,
          attempts: 0,
          announced: opts.restored === true,
          done: false,
        };
        this.#slots.set(key, slot);
        continue;
      }
      slot.incident = incident;
      if (slot.fingerprint === fp) continue;
      slot.fingerprint = fp;
      if (fp === slot.sentFingerprint) {
        slot.done = true;
        continue;
      }
      slot.done = false;
      slot.attempts = 0;
      if (incident.status === 'resolved') {
        if (!slot.announced) {
          // Resolved before anyone was told: say nothing at all.
          this.#slots.delete(key);
          continue;
        }
        slot.dueMs = now;
      } else if (slot.sentMs !== undefined) {
        slot.dueMs = Math.max(now, slot.sentMs + this.#options.groupIntervalMs);
      }
    }
    this.#schedule();
  }

  /** Sends everything due now (and waits for it); for tests and shutdown. */
  async flush(): Promise<void> {
    await this.#pump();
  }

  pending(): number {
    return [...this.#slots.values()].filter((s) => !s.done).length;
  }

  close(): void {
    this.#closed = true;
    if (this.#timer) clearInterval(this.#timer);
    this.#timer = undefined;
  }

  #schedule(): void {
    if (this.#timer || this.#closed) return;
    this.#timer = setInterval(() => void this.#pump(), this.#options.pollMs);
    this.#timer.unref();
  }

  #makeRoom(): void {
    const live = [...this.#slots.entries()].filter(([, s]) => !s.done);
    // Finished slots (kept to remember what was sent) go first, then the oldest firing update.
    for (const [key, s] of this.#slots) {
      if (this.#slots.size < this.#options.maxQueue) return;
      if (s.done && s.incident.status === 'resolved') this.#slots.delete(key);
    }
    for (const [key, s] of live) {
      if (this.#slots.size < this.#options.maxQueue) return;
      if (s.incident.status !== 'resolved') {
        this.#slots.delete(key);
        this.stats.dropped += 1;
      }
    }
  }

  async #pump(): Promise<void> {
    if (this.#pumping) return this.#pumping;
    this.#pumping = (async () => {
      const now = this.#clock();
      for (const [key, slot] of this.#slots) {
        if (slot.done || slot.dueMs > now) continue;
        const incident = slot.incident;
        const fp = slot.fingerprint;
        const result = await this.#send(slot.target, incident);
        if (result.ok) {
          this.stats.sent += 1;
          slot.sentFingerprint = fp;
          slot.sentMs = this.#clock();
          slot.attempts = 0;
          if (incident.status !== 'resolved') slot.announced = true;
          slot.done = slot.fingerprint === fp;
          if (slot.done && incident.status === 'resolved') this.#slots.delete(key);
          continue;
        }
        slot.attempts += 1;
        if (!result.retryable || slot.attempts >= this.#options.maxAttempts) {
          this.stats.failed += 1;
          this.#logger.warn(
            { url: slot.target.url, incident: incident.id, attempts: slot.attempts },
            `notification dropped: ${result.message}`,
          );
          slot.done = true;
          continue;
        }
        this.stats.retried += 1;
        const backoff = Math.min(
          this.#options.retryMaxMs,
          this.#options.retryBaseMs * 2 ** (slot.attempts - 1),
        );
        slot.dueMs = this.#clock() + backoff / 2 + Math.random() * (backoff / 2);
      }
      if (this.pending() === 0 && this.#timer) {
        clearInterval(this.#timer);
        this.#timer = undefined;
      }
    })().finally(() => {
      this.#pumping = undefined;
    });
    return this.#pumping;
  }

  async #send(target: NotifyTarget, incident: Incident): Promise<SendResult> {
    const body =
      target.format === 'alertmanager'
        ? alertmanagerPayload(incident, {
            receiver: this.#options.receiver,
            externalURL: this.#options.externalURL,
          })
        : pagerDutyEvent(incident, {
            routingKey: target.routingKey ?? '',
            externalURL: this.#options.externalURL,
          });
    try {
      const res = await fetch(target.url, {
        method: 'POST',
        headers: { 'content-type': 'application/json', ...(target.headers ?? {}) },
        body: JSON.stringify(body),
        signal: AbortSignal.timeout(this.#options.requestTimeoutMs),
      });
      await res.arrayBuffer().catch(() => undefined);
      if (res.ok) return { ok: true };
      const retryable = res.status === 429 || res.status >= 500;
      return { ok: false, retryable, message: `HTTP ${res.status}` };
    } catch (error) {
      return { ok: false, retryable: true, message: (error as Error).message };
    }
  }
}
