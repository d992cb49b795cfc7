import { setTimeout as sleep } from 'node:timers/promises';
import type { Channel, ChannelModel, ConsumeMessage } from 'amqplib';
import type { Logger } from '../logger.js';
import { redeliveredName, undeliverableName } from './rabbitmq-queues.js';

export interface RedeliveredConsumerOptions {
  queuePrefix: string;
  /** Opens an AMQP connection (a fresh service token each time). */
  connect: () => Promise<ChannelModel>;
  /** A message from `<prefix>.redelivered`: handled, then acked or nacked on `channel`. */
  onRedelivered: (channel: Channel, message: ConsumeMessage) => Promise<void>;
  /** A message from `<prefix>.undeliverable`: handled, then acked or nacked on `channel`. */
  onUndeliverable: (channel: Channel, message: ConsumeMessage) => Promise<void>;
  log: Logger;
}

/**
 * Consumes `<prefix>.redelivered` and `<prefix>.undeliverable` on an AMQP connection of its own,
 * one message of `<prefix>.redelivered` at a time (rabbitmq-queues.ts says why): a message there
 * whose routing key cannot be handed over closes this connection, never the router's main one,
 * and nothing else of that queue is in flight with it. Reconnects by itself until closed.
 */
export class RedeliveredConsumer {
  readonly #options: RedeliveredConsumerOptions;
  readonly #inFlight = new Set<Promise<void>>();
  #model: ChannelModel | undefined;
  #channels: { channel: Channel; tag: string }[] = [];
  #closing = false;
  #running: Promise<void> = Promise.resolve();

  constructor(options: RedeliveredConsumerOptions) {
    this.#options = options;
  }

  /** Starts consuming; a failure to connect now is retried in the background. */
  start(): void {
    this.#running = this.#keepOpen();
  }

  /** The connection in use, if any (for token refreshes). */
  get model(): ChannelModel | undefined {
    return this.#model;
  }

  /** Stops new deliveries, lets those in flight settle on their channels, then closes. */
  async close(): Promise<void> {
    this.#closing = true;
    await Promise.allSettled(this.#channels.map(({ channel, tag }) => channel.cancel(tag)));
    await Promise.allSettled([...this.#inFlight]);
    await Promise.allSettled(this.#channels.map(({ channel }) => channel.close()));
    await this.#model?.close().catch(() => {});
    await this.#running;
  }

  /** Opens, and after a lost connection opens again (200 ms, 400 ms, … up to 5 s apart). */
  async #keepOpen(): Promise<void> {
    for (let attempt = 0; !this.#closing; attempt++) {
      if (attempt > 0) await sleep(Math.min(100 * 2 ** attempt, 5000));
      if (this.#closing) return;
      try {
        const { closed } = await this.#open();
        // Opened: the next loss waits 200 ms again, as the main connection's does (an over-long
        // topic costs two quick losses; a longer wait would only delay its sender's refusal).
        attempt = 0;
        await closed;
        if (!this.#closing)
          this.#options.log.warn('AMQP redelivered consumer lost its connection; reconnecting');
      } catch (error) {
        this.#options.log.warn({ err: error, attempt }, 'AMQP redelivered consumer could not connect');
      }
    }
  }

  /** Connects and consumes; `closed` settles when the connection ends. */
  async #open(): Promise<{ closed: Promise<void> }> {
    const model = await this.#options.connect();
    const closed = new Promise<void>((resolve) => model.once('close', () => resolve()));
    model.on('error', (error: Error) =>
      this.#options.log.warn({ err: error }, 'AMQP redelivered consumer connection error'),
    );
    this.#model = model;
    this.#channels = [];
    try {
      const prefix = this.#options.queuePrefix;
      await this.#consume(model, redeliveredName(prefix), 1, this.#options.onRedelivered);
      await this.#consume(model, undeliverableName(prefix), 16, this.#options.onUndeliverable);
    } catch (error) {
      await model.close().catch(() => {});
      throw error;
    }
    if (this.#closing) await model.close().catch(() => {});
    return { closed };
  }

  async #consume(
    model: ChannelModel,
    queue: string,
    prefetch: number,
    handle: (channel: Channel, message: ConsumeMessage) => Promise<void>,
  ): Promise<void> {
    const channel = await model.createChannel();
    channel.on('error', (error: Error) =>
      this.#options.log.warn({ err: error, queue }, 'AMQP channel error'),
    );
    await channel.prefetch(prefetch);
    const { consumerTag } = await channel.consume(queue, (message) => {
      if (!message) return;
      const work = handle(channel, message)
        .catch(() => {})
        .finally(() => this.#inFlight.delete(work));
      this.#inFlight.add(work);
    });
    this.#channels.push({ channel, tag: consumerTag });
  }
}
