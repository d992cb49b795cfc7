import type { Logger } from '../logger.js';
import type { Attachments } from './attachments.js';

/**
 * Removes orphans (uploaded, never sent) every MERCURIO_ATTACHMENT_SWEEP_SECONDS. Every process
 * serving the HTTP API runs one; they never remove one row twice (the delete takes the rows).
 */
export class OrphanSweeper {
  readonly #attachments: Attachments;
  readonly #log: Logger;
  #timer: NodeJS.Timeout | undefined;
  #running: Promise<unknown> | undefined;

  constructor(attachments: Attachments, log: Logger) {
    this.#attachments = attachments;
    this.#log = log;
  }

  start(): void {
    const every = this.#attachments.settings.sweepSeconds * 1000;
    this.#timer = setInterval(() => void this.sweep(), every);
    this.#timer.unref();
  }

  /** One sweep now (a sweep already running is waited for instead). */
  sweep(): Promise<unknown> {
    this.#running ??= Promise.all([this.#attachments.sweepOrphans(), this.#attachments.sweepStaging()])
      .then(([removed, staged]) => {
        if (removed + staged > 0) this.#log.info({ removed, staged }, 'orphan attachments removed');
      })
      .catch((error: unknown) => this.#log.warn({ err: error }, 'orphan attachment sweep failed'))
      .finally(() => {
        this.#running = undefined;
      });
    return this.#running;
  }

  async stop(): Promise<void> {
    clearInterval(this.#timer);
    await this.#running;
  }
}
