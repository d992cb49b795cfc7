import { setTimeout as sleep } from 'node:timers/promises';
import type { Bus } from '../bus/bus.js';
import type { Logger } from '../logger.js';
import type { ClaimedPublications, PublicationQueue } from '../store/publication-queue.js';
import { OutboxLoop } from './outbox-loop.js';

export interface PublicationRelaySettings {
  /** How often the relay looks for entries nobody woke it for (another process's, retries). */
  pollMs: number;
  /** A publish the broker has not confirmed by then counts as failed (the entry is retried). */
  publishTimeoutMs: number;
  retryBaseMs: number;
  retryMaxMs: number;
  /** Only this app's entries (MERCURIO_APP_ID, as the router); every app's when undefined. */
  app: string | undefined;
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
  app: undefined,
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
 * backoff, forever (consumers are idempotent). The webhook outbox's mechanism: a lease per entry,
 * oldest first per ordering key (publication-outbox-sql.ts), and the same loop (outbox-loop.ts),
 * woken right after a commit, polling otherwise.
 */
export class PublicationRelay {
  readonly #deps: PublicationRelayDeps;
  readonly #loop: OutboxLoop;

  constructor(deps: PublicationRelayDeps) {
    this.#deps = deps;
    const leaseMs = deps.settings.publishTimeoutMs * 2 + 1000;
    this.#loop = new OutboxLoop({
      name: 'publication relay',
      pollMs: deps.settings.pollMs,
      log: deps.log,
      pass: async () => {
        const claimed = await deps.queue.claimPublications(deps.settings.app, deps.now(), leaseMs, BATCH);
        // One entry per ordering key at most: entries of different keys may go out together.
        await Promise.all(claimed.map((entry) => this.#publish(entry)));
        return claimed.length;
      },
    });
  }

  start(): void {
    if (!this.#deps.settings.holdForTests) this.#loop.start();
  }

  /** New entries were committed: look now rather than at the next poll. */
  wake(): void {
    this.#loop.wake();
  }

  /**
   * Wakes the relay and resolves when a pass that started after this call has ended — published,
   * or failed and scheduled for a retry. Never rejects: the entries are committed either way.
   */
  flush(): Promise<void> {
    return this.#loop.flush();
  }

  stop(): Promise<void> {
    return this.#loop.stop();
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
