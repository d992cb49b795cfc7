import { setTimeout as sleep } from 'node:timers/promises';
import type { Bus } from '../bus/bus.js';
import type { Logger } from '../logger.js';
import type { ClaimedPublications, PublicationQueue } from '../store/publication-queue.js';

export interface PublicationRelaySettings {
  /** How often the relay looks for entries nobody woke it for (another process's, retries). */
  pollMs: number;
  /** A publish the broker has not confirmed by then counts as failed (the entry is retried). */
  publishTimeoutMs: number;
  retryBaseMs: number;
  retryMaxMs: number;
  /**
   * Test hook (MERCURIO_TEST_HOLD_PUBLICATIONS): the relay never runs in this process, so committed
   * changes stay in the outbox — a crash test's "killed after the commit, before the publish".
   */
  holdForTests: boolean;
}

/** As config.ts's defaults, for a relay built without a configuration (an HTTP app on its own). */
export const DEFAULT_PUBLICATION_RELAY_SETTINGS: PublicationRelaySettings = {
  pollMs: 1000,
  publishTimeoutMs: 10_000,
  retryBaseMs: 200,
  retryMaxMs: 30_000,
  holdForTests: false,
};

export interface PublicationRelayDeps {
  queue: PublicationQueue;
  bus: Pick<Bus, 'publish'>;
  settings: PublicationRelaySettings;
  log: Logger;
  now: () => number;
}

const BATCH = 50;

/**
 * Publishes the outbox of publications through the bus, at least once: an entry is deleted only
 * after the broker confirmed all its publications; a failed or unconfirmed publish is retried with
 * backoff, forever (consumers are idempotent). The webhook worker's mechanism (webhooks/worker.ts):
 * a lease per entry, oldest first per ordering key, woken right after a commit, polling otherwise.
 */
export class PublicationRelay {
  readonly #deps: PublicationRelayDeps;
  #running = false;
  #loop: Promise<void> | undefined;
  #wake = new AbortController();
  #woken = false;
  /** Callers of `flush` waiting for the next pass to end. */
  #waiters: (() => void)[] = [];

  constructor(deps: PublicationRelayDeps) {
    this.#deps = deps;
  }

  start(): void {
    if (this.#running || this.#deps.settings.holdForTests) return;
    this.#running = true;
    this.#loop = this.#run();
  }

  /** New entries were committed: look now rather than at the next poll. */
  wake(): void {
    this.#woken = true;
    this.#wake.abort();
  }

  /**
   * Wakes the relay and resolves when a pass that started after this call has ended — published,
   * or failed and scheduled for a retry. Never rejects: the entries are committed either way.
   */
  flush(): Promise<void> {
    if (!this.#running) return Promise.resolve();
    const done = new Promise<void>((resolve) => this.#waiters.push(resolve));
    this.wake();
    return done;
  }

  async stop(): Promise<void> {
    this.#running = false;
    this.wake();
    await this.#loop;
    for (const resolve of this.#waiters.splice(0)) resolve();
  }

  async #run(): Promise<void> {
    const { settings, queue, log, now } = this.#deps;
    const leaseMs = settings.publishTimeoutMs * 2 + 1000;
    while (this.#running) {
      this.#woken = false;
      const waiters = this.#waiters.splice(0);
      let claimed: ClaimedPublications[] = [];
      try {
        claimed = await queue.claimPublications(now(), leaseMs, BATCH);
        // One entry per ordering key at most: entries of different keys may go out together.
        await Promise.all(claimed.map((entry) => this.#publish(entry)));
      } catch (error) {
        log.error({ err: error }, 'publication relay: outbox unavailable; retrying');
      }
      for (const resolve of waiters) resolve();
      if (claimed.length === 0 && !this.#woken && this.#running) await this.#idle();
    }
  }

  async #idle(): Promise<void> {
    if (this.#wake.signal.aborted) this.#wake = new AbortController();
    await sleep(this.#deps.settings.pollMs, undefined, { signal: this.#wake.signal }).catch(() => {});
    if (this.#wake.signal.aborted) this.#wake = new AbortController();
  }

  async #publish(entry: ClaimedPublications): Promise<void> {
    const { settings, queue, bus, log, now } = this.#deps;
    try {
      await confirmedWithin(bus.publish(entry.publications), settings.publishTimeoutMs);
    } catch (error) {
      const message = error instanceof Error ? error.message : String(error);
      const backoff = Math.min(settings.retryBaseMs * 2 ** (entry.attempts - 1), settings.retryMaxMs);
      log.warn(
        { entry: entry.id, attempt: entry.attempts, retryInMs: backoff, error: message },
        'publication relay: publish failed; will retry',
      );
      await queue.retryPublications(entry.id, message, now() + backoff);
      return;
    }
    await queue.completePublications(entry.id);
  }
}

async function confirmedWithin(publish: Promise<void>, timeoutMs: number): Promise<void> {
  const timeout = new AbortController();
  try {
    await Promise.race([
      publish,
      sleep(timeoutMs, undefined, { signal: timeout.signal }).then(
        () => {
          throw new Error(`the broker did not confirm within ${timeoutMs} ms`);
        },
        () => {}, // aborted: the publish settled first
      ),
    ]);
  } finally {
    timeout.abort();
  }
}
