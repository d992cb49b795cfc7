import { setTimeout as sleep } from 'node:timers/promises';
import type { Logger } from '../logger.js';

export interface OutboxLoopOptions {
  /** Claims due entries and handles them; resolves with how many it claimed. */
  pass: () => Promise<number>;
  /** How long to wait for a wake-up before looking again (entries of other processes, retries). */
  pollMs: number;
  log: Logger;
  /** Names the loop in its log lines. */
  name: string;
}

/**
 * The loop of a transactional outbox, shared by the webhook worker and the publication relay: a
 * pass claims due entries (leased in the table, so several processes share it) and handles them;
 * the next pass follows at once when this one found work or a commit woke the loop meanwhile,
 * else after `pollMs`. A wake-up during a pass is never lost.
 */
export class OutboxLoop {
  readonly #options: OutboxLoopOptions;
  #running = false;
  #loop: Promise<void> | undefined;
  #wake = new AbortController();
  #woken = false;
  /** Callers of `flush` waiting for the next pass to end. */
  #waiters: (() => void)[] = [];

  constructor(options: OutboxLoopOptions) {
    this.#options = options;
  }

  start(): void {
    if (this.#running) return;
    this.#running = true;
    this.#loop = this.#run();
  }

  /** New entries were committed: look now rather than at the next poll. */
  wake(): void {
    this.#woken = true;
    this.#wake.abort();
  }

  /** Wakes the loop; resolves when a pass that started after this call has ended (never rejects). */
  flush(): Promise<void> {
    if (!this.#running) return Promise.resolve();
    const done = new Promise<void>((resolve) => this.#waiters.push(resolve));
    this.wake();
    return done;
  }

  /** Lets the pass in flight finish, then stops. */
  async stop(): Promise<void> {
    this.#running = false;
    this.wake();
    await this.#loop;
    for (const resolve of this.#waiters.splice(0)) resolve();
  }

  async #run(): Promise<void> {
    while (this.#running) {
      this.#woken = false;
      const waiters = this.#waiters.splice(0);
      let claimed = 0;
      try {
        claimed = await this.#options.pass();
      } catch (error) {
        this.#options.log.error({ err: error }, `${this.#options.name}: outbox unavailable; retrying`);
      }
      for (const resolve of waiters) resolve();
      if (claimed === 0 && !this.#woken && this.#running) await this.#idle();
    }
  }

  async #idle(): Promise<void> {
    if (this.#wake.signal.aborted) this.#wake = new AbortController();
    await sleep(this.#options.pollMs, undefined, { signal: this.#wake.signal }).catch(() => {});
    if (this.#wake.signal.aborted) this.#wake = new AbortController();
  }
}
