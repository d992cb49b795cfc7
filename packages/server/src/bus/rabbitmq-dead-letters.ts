import { setTimeout as sleep } from 'node:timers/promises';
import type { Channel, ChannelModel, ConsumeMessage } from 'amqplib';
import type { Logger } from '../logger.js';
import type { DeadLetter } from './bus.js';

/** Headers the bus writes on a letter it sets aside in `<queuePrefix>.dead`. */
export const DEAD_LETTER_HEADERS = {
  attempts: 'x-mercurio-attempts',
  error: 'x-mercurio-error',
  failedAt: 'x-mercurio-failed-at',
} as const;

export interface DeadLetterMoverOptions {
  /** `<queuePrefix>.dead`. */
  queue: string;
  /** Opens an AMQP connection (a fresh service token each time). */
  connect: () => Promise<ChannelModel>;
  /** Keeps a letter for good (the dead_letters table); resolves once it is kept. */
  keep: (letter: DeadLetter) => Promise<void>;
  /** The pause before a letter that could not be kept is tried again. */
  retryDelayMs: number;
  log: Logger;
}

/**
 * Moves every letter of RabbitMQ's `<queuePrefix>.dead` into the dead-letter table, where the admin
 * routes list and replay them (the broker cannot look a message up by id). The queue stays the
 * broker-side buffer: a letter is acked only after it is kept, and its AMQP message id keeps one
 * delivered twice (a crash between the insert and the ack) from being kept twice. A letter that
 * cannot be kept (database down) goes back to the queue and is tried again later. Runs on a
 * connection of its own and reconnects by itself until closed.
 */
export class DeadLetterMover {
  readonly #options: DeadLetterMoverOptions;
  readonly #inFlight = new Set<Promise<void>>();
  #model: ChannelModel | undefined;
  #consumer: { channel: Channel; tag: string } | undefined;
  #closing = false;
  #running: Promise<void> = Promise.resolve();

  constructor(options: DeadLetterMoverOptions) {
    this.#options = options;
  }

  start(): void {
    this.#running = this.#keepOpen();
  }

  /** The connection in use, if any (for token refreshes). */
  get model(): ChannelModel | undefined {
    return this.#model;
  }

  /** Stops taking letters, lets those in flight be kept and acked, then closes. */
  async close(): Promise<void> {
    this.#closing = true;
    const consumer = this.#consumer;
    await consumer?.channel.cancel(consumer.tag).catch(() => {});
    await Promise.allSettled([...this.#inFlight]);
    await consumer?.channel.close().catch(() => {});
    await this.#model?.close().catch(() => {});
    await this.#running;
  }

  async #keepOpen(): Promise<void> {
    for (let attempt = 0; !this.#closing; attempt++) {
      if (attempt > 0) await sleep(Math.min(100 * 2 ** attempt, 5000));
      if (this.#closing) return;
      try {
        const lost = await this.#open();
        attempt = 0;
        await lost;
        if (!this.#closing)
          this.#options.log.warn('AMQP dead-letter mover lost its connection; reconnecting');
      } catch (error) {
        this.#options.log.warn({ err: error, attempt }, 'AMQP dead-letter mover could not connect');
      }
    }
  }

  /** Connects and consumes; resolves to a promise of the connection's end. */
  async #open(): Promise<Promise<void>> {
    const model = await this.#options.connect();
    const closed = new Promise<void>((resolve) => model.once('close', () => resolve()));
    model.on('error', (error: Error) =>
      this.#options.log.warn({ err: error }, 'AMQP dead-letter mover connection error'),
    );
    this.#model = model;
    try {
      const channel = await model.createChannel();
      channel.on('error', (error: Error) =>
        this.#options.log.warn({ err: error, queue: this.#options.queue }, 'AMQP channel error'),
      );
      await channel.prefetch(16);
      const { consumerTag } = await channel.consume(this.#options.queue, (message) => {
        if (!message) return;
        const work = this.#move(channel, message).finally(() => this.#inFlight.delete(work));
        this.#inFlight.add(work);
      });
      this.#consumer = { channel, tag: consumerTag };
    } catch (error) {
      await model.close().catch(() => {});
      throw error;
    }
    if (this.#closing) await model.close().catch(() => {});
    return closed;
  }

  async #move(channel: Channel, message: ConsumeMessage): Promise<void> {
    let kept = false;
    try {
      await this.#options.keep(letterOf(message));
      kept = true;
    } catch (error) {
      this.#options.log.error({ err: error }, 'dead letter could not be kept; it stays in its queue');
      await sleep(this.#options.retryDelayMs);
    }
    try {
      if (kept) channel.ack(message);
      else channel.nack(message, false, true);
    } catch {
      // The channel is gone: the broker delivers the letter again, and its key keeps it once.
    }
  }
}

/** A letter as the bus set it aside (RabbitBus.deadLetter), or as an earlier version did (no id). */
export function letterOf(message: ConsumeMessage): DeadLetter {
  const headers = message.properties.headers ?? {};
  const failedAt = Date.parse(String(headers[DEAD_LETTER_HEADERS.failedAt]));
  const messageId: unknown = message.properties.messageId;
  return {
    message: {
      topic: message.fields.routingKey,
      form: 'amqp',
      body: message.content,
      redelivered: false,
      retransmitted: false,
      attempts: 0,
    },
    attempts: Number(headers[DEAD_LETTER_HEADERS.attempts]) || 0,
    error: String(headers[DEAD_LETTER_HEADERS.error] ?? 'unknown'),
    failedAt: Number.isFinite(failedAt) ? failedAt : Number(message.properties.timestamp ?? 0) * 1000,
    ...(typeof messageId === 'string' && messageId !== '' ? { key: messageId } : {}),
  };
}
