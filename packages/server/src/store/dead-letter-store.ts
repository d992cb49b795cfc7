import type { DeadLetter } from '../bus/bus.js';

/**
 * The dead-letter place of both engines (docs/operations.md, "Dead letters"): the dead_letters
 * table. The embedded engine writes to it directly; on RabbitMQ the router moves each letter into
 * it from the `<queuePrefix>.dead` queue (bus/rabbitmq-dead-letters.ts). The admin routes and the
 * CLI read, replay and drop letters here.
 */
export interface DeadLetterStore {
  /** Keeps a letter; one with a `key` already kept is not kept twice. */
  keep(letter: DeadLetter): Promise<void>;
  /** The letters of `app` (every app when undefined), oldest first, after the id `after`. */
  list(app: string | undefined, page: { limit: number; after?: string }): Promise<StoredDeadLetter[]>;
  /**
   * Removes the letter `id` (of `app`, when given) and runs `use` with it, in one transaction: the
   * removal holds only if `use` resolves. False when there is no such letter (already taken).
   */
  take(
    app: string | undefined,
    id: string,
    use: (letter: StoredDeadLetter) => Promise<void>,
  ): Promise<boolean>;
  /** Removes the letter `id` (of `app`, when given); false when there is no such letter. */
  drop(app: string | undefined, id: string): Promise<boolean>;
}

export interface StoredDeadLetter {
  /** Decimal, increasing in the order letters were kept. */
  id: string;
  app: string;
  /** MQTT form. */
  topic: string;
  body: Buffer;
  attempts: number;
  /** The last failure. */
  error: string;
  /** Milliseconds since the epoch. */
  failedAt: number;
}
