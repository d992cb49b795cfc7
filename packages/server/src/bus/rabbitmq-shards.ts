import type { Channel, ChannelModel, ConsumeMessage } from 'amqplib';
import type { Logger } from '../logger.js';
import type { ConsumerSpec, InboundHandler, ShardedConsumption } from './bus.js';
import { SHARD_WEIGHT, shardExchangeName, shardQueueArguments, shardQueueName } from './rabbitmq-queues.js';

/** What the bus lends the shards: its connection, its consumer bookkeeping, its delivery. */
export interface ShardHost {
  readonly log: Logger;
  readonly queuePrefix: string;
  /** The bus's current connection, if connected and not paused. */
  model(): ChannelModel | undefined;
  /** A consumer channel the bus closes when it pauses or closes. */
  register(channel: Channel, tag: string): void;
  forget(channel: Channel): void;
  /** The bus's delivery of one message (handler, ack or hand back). */
  deliver(channel: Channel, message: ConsumeMessage, handler: InboundHandler): Promise<void>;
}

interface Family {
  spec: ConsumerSpec;
  handler: InboundHandler;
}

interface Started {
  channels: { channel: Channel; tag: string }[];
  inFlight: Set<Promise<void>>;
}

/**
 * The sharded families on RabbitMQ (docs/scaling.md): their topology, and consuming them one
 * shard at a time as the router's shard balancer decides. Shard s of every family is started and
 * stopped together, on channels of its own. Stopping cancels the consumers (the broker sends
 * nothing more), processes and settles everything already delivered, then closes the channels
 * with nothing unsettled: a handover returns no message to the queue, so it costs none of them a
 * delivery attempt (the queues dead-letter a message returned twice).
 */
export class RabbitShards implements ShardedConsumption {
  readonly count: number;
  readonly #host: ShardHost;
  readonly #families: Family[] = [];
  readonly #started = new Map<number, Started>();
  #queue: Promise<void> = Promise.resolve();

  constructor(host: ShardHost, count: number) {
    this.#host = host;
    this.count = count;
  }

  /** A sharded family, consumed only through `start`. */
  add(spec: ConsumerSpec, handler: InboundHandler): void {
    this.#families.push({ spec, handler });
  }

  /** Declares a family's consistent-hash exchange, its binding to `source`, and its shard queues. */
  async declare(
    channel: Channel,
    spec: ConsumerSpec,
    patterns: readonly string[],
    source: string,
  ): Promise<void> {
    const prefix = this.#host.queuePrefix;
    const exchange = shardExchangeName(prefix, spec);
    await channel.assertExchange(exchange, 'x-consistent-hash', { durable: true });
    for (const pattern of patterns) await channel.bindExchange(exchange, source, pattern);
    for (let shard = 0; shard < this.count; shard++) {
      const queue = shardQueueName(prefix, spec, shard);
      await channel.assertQueue(queue, { durable: true, arguments: shardQueueArguments(prefix, spec) });
      await channel.bindQueue(queue, exchange, SHARD_WEIGHT);
    }
  }

  get consuming(): boolean {
    return this.#host.model() !== undefined;
  }

  /** Shards consumed now (or to be consumed again once the bus is back). */
  get started(): number[] {
    return [...this.#started.keys()].sort((a, b) => a - b);
  }

  /**
   * Starts, stops and reopenings run one at a time: a reopen (the bus resumed) racing a start
   * could otherwise leave a shard with two consumers, one of them untracked.
   */
  #serial<T>(work: () => Promise<T>): Promise<T> {
    const run = this.#queue.then(work);
    this.#queue = run.then(
      () => undefined,
      () => undefined,
    );
    return run;
  }

  start(shard: number): Promise<void> {
    return this.#serial(async () => {
      if (this.#started.has(shard)) return;
      const started: Started = { channels: [], inFlight: new Set() };
      this.#started.set(shard, started);
      await this.#consume(shard, started);
    });
  }

  /** The bus reconnected or resumed: the started shards are consumed again, on new channels. */
  reopen(): Promise<void> {
    return this.#serial(async () => {
      for (const [shard, started] of this.#started) await this.#consume(shard, started);
    });
  }

  stop(shard: number): Promise<void> {
    return this.#serial(async () => {
      const started = this.#started.get(shard);
      if (!started) return;
      this.#started.delete(shard);
      // A channel closed already (a lost connection) throws at once: settled like the others.
      await Promise.allSettled(started.channels.map(async ({ channel, tag }) => channel.cancel(tag)));
      // What was delivered before the cancel took effect is processed too, then settled.
      while (started.inFlight.size > 0) await Promise.allSettled([...started.inFlight]);
      await this.#close(started);
    });
  }

  async #close(started: Started): Promise<void> {
    for (const { channel } of started.channels.splice(0)) {
      this.#host.forget(channel);
      await channel.close().catch(() => {});
    }
  }

  async #consume(shard: number, started: Started): Promise<void> {
    // The channels of an earlier opening (closed by a pause or a lost connection) are let go.
    await this.#close(started);
    const model = this.#host.model();
    // Disconnected or paused: the bus calls `reopen` when it is back.
    if (!model) return;
    for (const { spec, handler } of this.#families) {
      const channel = await model.createChannel();
      channel.on('error', (error: Error) =>
        this.#host.log.warn({ err: error, queue: spec.name, shard }, 'AMQP channel error'),
      );
      await channel.prefetch(spec.prefetch);
      const queue = shardQueueName(this.#host.queuePrefix, spec, shard);
      const { consumerTag } = await channel.consume(queue, (message) => {
        if (!message) return;
        const done = this.#host.deliver(channel, message, handler);
        started.inFlight.add(done);
        void done.finally(() => started.inFlight.delete(done));
      });
      started.channels.push({ channel, tag: consumerTag });
      this.#host.register(channel, consumerTag);
      // Paused (or disconnected) while opening: the bus closed the channels it knew, not this one.
      if (this.#host.model() !== model) {
        await this.#close(started);
        return;
      }
    }
  }
}
