import { randomUUID } from 'node:crypto';
import { setTimeout as sleep } from 'node:timers/promises';
import { formatTopic, outgoingNamespacePattern, type Topic, topicPattern } from '@mercurio/protocol';
import amqp, { type Channel, type ChannelModel, type ConfirmChannel, type ConsumeMessage } from 'amqplib';
import type { Logger } from '../logger.js';
import type {
  Bus,
  ConsumerSpec,
  DeadLetter,
  InboundHandler,
  PausableConsumption,
  Publication,
} from './bus.js';
import { payloadBodies } from './payload-bodies.js';
import { DEAD_LETTER_HEADERS, DeadLetterMover } from './rabbitmq-dead-letters.js';
import {
  bindingMatches,
  deliveryCount,
  legacyQueueName,
  newestDeath,
  REDELIVERED_BINDING,
  redeliveredName,
  redeliveredQueueArguments,
  routerQueueArguments,
  routerQueueName,
  UNDELIVERABLE_BINDING,
  undeliverableName,
  undeliverableTopic,
} from './rabbitmq-queues.js';
import { RedeliveredConsumer } from './rabbitmq-redelivered.js';
import { RabbitShards } from './rabbitmq-shards.js';

/** What RabbitMQ's MQTT plugin makes of a PUBLISH's DUP flag (a boolean header). */
const MQTT_DUP_HEADER = 'x-mqtt-dup';

/** RabbitMQ's MQTT plugins publish every client message to this exchange (mqtt.exchange). */
const EXCHANGE = 'amq.topic';

export interface RabbitBusOptions {
  /**
   * amqp://host:port[/vhost], or several (a cluster's nodes), tried in turn at each reconnect; any
   * credentials in them are ignored: the service JWT is the password.
   */
  urls: readonly string[];
  /** Shards of each sharded family (ConsumerSpec.sharded; docs/scaling.md); fixed for a deployment. */
  shards: number;
  queuePrefix: string;
  /** Confirm channels to publish on (at least 1); one user's events always take the same one. */
  publishChannels: number;
  /** A fresh service JWT, asked for at every (re)connect and every `tokenRefreshSeconds`. */
  token: () => Promise<string>;
  tokenRefreshSeconds: number;
  /** How long a failed message waits before it is handed back to the broker. */
  retryDelayMs: number;
  /**
   * Keeps a letter for good (the dead_letters table): a router's bus moves every letter of
   * `<queuePrefix>.dead` there (rabbitmq-dead-letters.ts). Omitted: letters stay in the queue.
   */
  deadLetters?: (letter: DeadLetter) => Promise<void>;
  log: Logger;
}

interface Consumer {
  spec: ConsumerSpec;
  handler: InboundHandler;
}

/**
 * The Bus on RabbitMQ over AMQP: one quorum queue per consumer spec bound to amq.topic,
 * manual acks, bounded prefetch, and confirm channels for publishing (each user pinned to one).
 * Reconnects by itself and re-establishes its consumers; unacked messages are redelivered by the
 * broker meanwhile. A message the broker cannot hand over (a topic too long for an AMQP routing
 * key) reaches the router through `<queuePrefix>.redelivered` (rabbitmq-queues.ts).
 */
export class RabbitBus implements Bus {
  readonly #options: RabbitBusOptions;
  readonly #consumers: Consumer[] = [];
  readonly #inFlight = new Set<Promise<void>>();
  /** Consumer channels that delivered something, and whether they closed since. */
  readonly #channelStates = new WeakMap<Channel, { closed: boolean }>();
  #model: ChannelModel | undefined;
  /** Empty while disconnected. */
  #publishers: ConfirmChannel[] = [];
  #consumerChannels: { channel: Channel; tag: string }[] = [];
  /** Consumers stopped (the router's store failed): see `pausable`. */
  #paused = false;
  /** `<queuePrefix>.redelivered` and `.undeliverable`, on a connection of their own. */
  #redelivered: RedeliveredConsumer | undefined;
  /** Moves `<queuePrefix>.dead` into the dead-letter table, once this bus consumes. */
  #deadLetterMover: DeadLetterMover | undefined;
  #ready: Promise<void>;
  #closing = false;
  #refreshTimer: NodeJS.Timeout | undefined;
  /** Which of the URLs the next connection goes to. */
  #urlIndex = 0;
  readonly sharded: RabbitShards;

  private constructor(options: RabbitBusOptions) {
    this.#options = options;
    this.#ready = Promise.resolve();
    this.sharded = new RabbitShards(
      {
        log: options.log,
        queuePrefix: options.queuePrefix,
        model: () => (this.#paused ? undefined : this.#model),
        register: (channel, tag) => {
          this.#consumerChannels.push({ channel, tag });
        },
        forget: (channel) => {
          this.#consumerChannels = this.#consumerChannels.filter((entry) => entry.channel !== channel);
        },
        deliver: (channel, message, handler) => {
          const done = this.#deliver(channel, message, handler);
          this.#track(done);
          return done;
        },
      },
      options.shards,
    );
  }

  /**
   * Pausing closes the consumer channels: RabbitMQ puts every message they had not acknowledged
   * back in its queue at once, in queue order and ahead of the rest, for this or another router
   * (a basic.cancel would return the messages on their way to the channel ahead of the ones the
   * router holds, out of order). Resuming opens them again.
   */
  readonly pausable: PausableConsumption = {
    pause: () => this.#pause(),
    resume: () => this.#resume(),
  };

  static async connect(options: RabbitBusOptions): Promise<RabbitBus> {
    const bus = new RabbitBus(options);
    await bus.#open();
    bus.#refreshTimer = setInterval(() => void bus.#refreshToken(), options.tokenRefreshSeconds * 1000);
    bus.#refreshTimer.unref();
    return bus;
  }

  async consume(spec: ConsumerSpec, handler: InboundHandler): Promise<void> {
    const consumer = { spec, handler };
    this.#consumers.push(consumer);
    await this.#ready;
    await this.#startConsumer(this.#model!, consumer);
    if (spec.sharded) this.sharded.add(spec, handler);
    this.#startDeadLetterMover();
    this.#startRedelivered();
  }

  async publish(events: readonly Publication[]): Promise<void> {
    if (events.length === 0) return;
    // Connected: the frames go out now, before this call returns, which is what keeps successive
    // calls in order (see Bus.publish). Only a reconnect makes a publish wait.
    if (this.#publishers.length === 0) await this.#ready;
    const publishers = this.#publishers;
    if (publishers.length === 0) throw new Error('RabbitMQ publisher channels are not open');
    const confirms: Promise<void>[] = [];
    const bodies = payloadBodies(events);
    for (const [i, event] of events.entries()) {
      const channel = publishers[channelIndex(event.topic, publishers.length)]!;
      const body = bodies[i]!;
      confirms.push(
        new Promise<void>((resolve, reject) => {
          const accepted = channel.publish(
            EXCHANGE,
            formatTopic(event.topic, 'amqp'),
            body,
            { persistent: true, contentType: 'application/json' },
            (error) => (error ? reject(error) : resolve()),
          );
          // Back-pressure: the socket buffer is full; the confirm promise still settles.
          if (!accepted) confirms.push(new Promise((drained) => channel.once('drain', drained)));
        }),
      );
    }
    await Promise.all(confirms);
  }

  /**
   * Into `<queuePrefix>.dead` through a fanout exchange of the same name, so that the letter keeps
   * its original routing key; a router moves it from there into the dead-letter table
   * (rabbitmq-dead-letters.ts), where the admin routes replay it.
   */
  async deadLetter(letter: DeadLetter): Promise<void> {
    if (this.#publishers.length === 0) await this.#ready;
    const channel = this.#publishers[0];
    if (!channel) throw new Error('RabbitMQ publisher channels are not open');
    const { message } = letter;
    const routingKey = message.form === 'amqp' ? message.topic : message.topic.replaceAll('/', '.');
    await new Promise<void>((resolve, reject) => {
      channel.publish(
        this.#deadLetters,
        routingKey,
        message.body,
        {
          persistent: true,
          // Names the letter until it is moved to the table, which keeps it once (DeadLetter.key).
          messageId: randomUUID(),
          timestamp: Math.floor(letter.failedAt / 1000),
          headers: {
            [DEAD_LETTER_HEADERS.attempts]: letter.attempts,
            [DEAD_LETTER_HEADERS.error]: letter.error.slice(0, 1000),
            [DEAD_LETTER_HEADERS.failedAt]: new Date(letter.failedAt).toISOString(),
          },
        },
        (error) => (error ? reject(error) : resolve()),
      );
    });
  }

  #startDeadLetterMover(): void {
    const keep = this.#options.deadLetters;
    if (!keep || this.#deadLetterMover || this.#closing) return;
    this.#deadLetterMover = new DeadLetterMover({
      queue: this.#deadLetters,
      connect: async () =>
        amqp.connect(await this.#connectOptions(), {
          noDelay: true,
          clientProperties: { connection_name: 'mercurio-dead-letters' },
        }),
      keep,
      retryDelayMs: this.#options.retryDelayMs,
      log: this.#options.log,
    });
    this.#deadLetterMover.start();
  }

  /** The dead-letter exchange and queue: `<queuePrefix>.dead`. */
  get #deadLetters(): string {
    return `${this.#options.queuePrefix}.dead`;
  }

  async close(): Promise<void> {
    this.#closing = true;
    clearInterval(this.#refreshTimer);
    await this.#deadLetterMover?.close();
    // Stop new deliveries, let the ones in flight finish and ack on their still-open channels,
    // then close: closing the channels first would throw those acks away (and redeliver).
    await Promise.allSettled(this.#consumerChannels.map(({ channel, tag }) => channel.cancel(tag)));
    // Its handlers publish on this bus's channels: closed first.
    await this.#redelivered?.close();
    await Promise.allSettled([...this.#inFlight]);
    await Promise.allSettled(this.#consumerChannels.map(({ channel }) => channel.close()));
    await this.#model?.close().catch(() => {});
  }

  /**
   * Connects, declares, and starts every consumer; only then is the connection the bus's own.
   * A connection lost while opening (a message that cannot be delivered arrives at once, see
   * rabbitmq-queues.ts) fails this call, which the one reconnect loop retries: its close must
   * not start a second loop, which would leave a second connection consuming unseen.
   */
  async #open(): Promise<void> {
    // Without noDelay, Nagle's algorithm holds small publishes and acks back by up to 40 ms.
    const model = await amqp.connect(await this.#connectOptions(), {
      noDelay: true,
      clientProperties: { connection_name: 'mercurio' },
    });
    let lost = false;
    model.on('error', (error: Error) => this.#options.log.warn({ err: error }, 'AMQP connection error'));
    model.on('close', () => {
      lost = true;
      if (model === this.#model) this.#onClose();
    });
    let publishers: ConfirmChannel[];
    try {
      publishers = await this.#setUp(model);
    } catch (error) {
      await model.close().catch(() => {});
      throw error;
    }
    if (lost) throw new Error('AMQP connection lost while opening');
    if (this.#closing) {
      await model.close().catch(() => {});
      return;
    }
    this.#model = model;
    this.#publishers = publishers;
    // The shards this router held before the connection was lost (their leases are still its own).
    // Not awaited: a shard being stopped waits for its messages in flight, which may wait for
    // this connection to publish.
    if (!this.#paused) this.#reopenShards();
  }

  /** Publisher channels, the dead-letter and redelivered places, every consumer. */
  async #setUp(model: ChannelModel): Promise<ConfirmChannel[]> {
    model.on('blocked', (reason: string) =>
      this.#options.log.warn({ reason }, 'RabbitMQ blocked publishing'),
    );
    const publishers: ConfirmChannel[] = [];
    for (let i = 0; i < Math.max(1, this.#options.publishChannels); i++) {
      const publisher = await model.createConfirmChannel();
      publisher.on('error', (error: Error) =>
        this.#options.log.warn({ err: error }, 'AMQP publisher channel error'),
      );
      publishers.push(publisher);
    }
    await this.#declareDeadLetters(model);
    // Topic exchanges: a client's publish to either is checked against its routing-key scopes.
    const prefix = this.#options.queuePrefix;
    const undeliverable = undeliverableName(prefix);
    await publishers[0]!.assertExchange(undeliverable, 'topic', { durable: true });
    await publishers[0]!.assertQueue(undeliverable, {
      durable: true,
      arguments: { 'x-queue-type': 'quorum' },
    });
    await publishers[0]!.bindQueue(undeliverable, undeliverable, UNDELIVERABLE_BINDING);
    const redelivered = redeliveredName(prefix);
    await publishers[0]!.assertExchange(redelivered, 'topic', { durable: true });
    await publishers[0]!.assertQueue(redelivered, {
      durable: true,
      arguments: redeliveredQueueArguments(prefix),
    });
    await publishers[0]!.bindQueue(redelivered, redelivered, REDELIVERED_BINDING);
    this.#consumerChannels = [];
    // Reconnected while paused: the consumers start on resume.
    if (!this.#paused) for (const consumer of this.#consumers) await this.#startConsumer(model, consumer);
    return publishers;
  }

  /**
   * `<queuePrefix>.dead` (a classic queue: it lives on the node that first declared it). While that
   * node of a cluster is down, declaring it fails (404, home node down): the router connects without
   * it rather than staying off the other nodes until that one is back (found on scripts/cluster.sh:
   * a killed node kept a router from reconnecting for 20 s), and declares it at the next connect.
   */
  async #declareDeadLetters(model: ChannelModel): Promise<void> {
    const channel = await model.createChannel();
    channel.on('error', () => {});
    try {
      await channel.assertExchange(this.#deadLetters, 'fanout', { durable: true });
      await channel.assertQueue(this.#deadLetters, { durable: true });
      await channel.bindQueue(this.#deadLetters, this.#deadLetters, '');
      await channel.close();
    } catch (error) {
      this.#options.log.warn(
        { err: error, queue: this.#deadLetters },
        'dead-letter queue unavailable (its node down?); connected without it',
      );
    }
  }

  async #pause(): Promise<void> {
    if (this.#paused) return;
    this.#paused = true;
    await this.#closeConsumers();
  }

  async #closeConsumers(): Promise<void> {
    const channels = this.#consumerChannels.splice(0);
    await Promise.allSettled(channels.map(({ channel }) => channel.close()));
  }

  async #resume(): Promise<void> {
    if (!this.#paused) return;
    this.#paused = false;
    // Disconnected: the reconnect starts them.
    const model = this.#model;
    if (!model) return;
    for (const consumer of this.#consumers) {
      if (this.#paused) return;
      await this.#startConsumer(model, consumer);
    }
    this.#reopenShards();
  }

  #reopenShards(): void {
    this.sharded
      .reopen()
      .catch((error: unknown) =>
        this.#options.log.warn({ err: error }, 'AMQP shard consumers not reopened; they reopen on reconnect'),
      );
  }

  #onClose(): void {
    this.#model = undefined;
    this.#publishers = [];
    if (this.#closing) return;
    // Its node may be gone: the next of the cluster's URLs first.
    this.#urlIndex++;
    this.#options.log.warn('AMQP connection lost; reconnecting');
    this.#ready = this.#reconnect();
  }

  async #reconnect(): Promise<void> {
    for (let attempt = 1; !this.#closing; attempt++) {
      await sleep(Math.min(100 * 2 ** attempt, 5000));
      if (this.#closing) return;
      try {
        await this.#open();
        this.#options.log.info({ attempt }, 'AMQP reconnected');
        return;
      } catch (error) {
        // The next node of the cluster, if there are several.
        this.#urlIndex++;
        this.#options.log.warn({ err: error, attempt }, 'AMQP reconnect failed');
      }
    }
  }

  async #refreshToken(): Promise<void> {
    for (const model of [this.#model, this.#redelivered?.model, this.#deadLetterMover?.model]) {
      try {
        await model?.updateSecret(Buffer.from(await this.#options.token()), 'token refresh');
      } catch (error) {
        this.#options.log.warn({ err: error }, 'AMQP token refresh failed');
      }
    }
  }

  async #connectOptions(): Promise<amqp.Options.Connect> {
    const { urls } = this.#options;
    const url = new URL(urls[this.#urlIndex % urls.length] ?? '');
    return {
      protocol: url.protocol.replace(':', ''),
      hostname: url.hostname,
      port: url.port ? Number(url.port) : undefined,
      vhost: decodeURIComponent(url.pathname.slice(1)) || '/',
      username: 'mercurio',
      password: await this.#options.token(),
      // A node cut off the network is noticed after two missed heartbeats: 10 s, then the next node.
      heartbeat: 5,
    };
  }

  async #startConsumer(model: ChannelModel, { spec, handler }: Consumer): Promise<void> {
    const channel = await model.createChannel();
    channel.on('error', (error: Error) =>
      this.#options.log.warn({ err: error, queue: spec.name }, 'AMQP channel error'),
    );
    const prefix = this.#options.queuePrefix;
    if (spec.sharded) {
      // Consumed shard by shard (`sharded`); the queue of an unsharded version is drained.
      await this.sharded.declare(channel, spec, bindingPatterns(spec), EXCHANGE);
      await channel.close();
      await this.#drainLegacy(model, spec, handler, routerQueueName(prefix, spec));
      await this.#drainLegacy(model, spec, handler);
      return;
    }
    const queue = routerQueueName(prefix, spec);
    await channel.assertQueue(queue, { durable: true, arguments: routerQueueArguments(prefix, spec) });
    for (const pattern of bindingPatterns(spec)) await channel.bindQueue(queue, EXCHANGE, pattern);
    await channel.prefetch(spec.prefetch);
    const { consumerTag } = await channel.consume(queue, (message) => {
      if (message) this.#track(this.#deliver(channel, message, handler));
    });
    this.#consumerChannels.push({ channel, tag: consumerTag });
    // Paused while it started (a resume followed at once by a pause): closed with the others.
    if (this.#paused) await this.#closeConsumers();
    await this.#drainLegacy(model, spec, handler);
  }

  /**
   * An earlier version's classic queue of this consumer, if it still exists: unbound, so that
   * nothing new goes there, and consumed until the operator deletes it (docs/operations.md).
   */
  async #drainLegacy(
    model: ChannelModel,
    spec: ConsumerSpec,
    handler: InboundHandler,
    legacy = legacyQueueName(this.#options.queuePrefix, spec),
  ): Promise<void> {
    // A missing queue closes the channel it was checked on: check on a throwaway one.
    const probe = await model.createChannel();
    probe.on('error', () => {});
    const exists = await probe.checkQueue(legacy).then(
      () => true,
      () => false,
    );
    if (!exists) return;
    await probe.close().catch(() => {});
    const channel = await model.createChannel();
    channel.on('error', (error: Error) =>
      this.#options.log.warn({ err: error, queue: legacy }, 'AMQP channel error'),
    );
    for (const pattern of bindingPatterns(spec)) await channel.unbindQueue(legacy, EXCHANGE, pattern);
    await channel.prefetch(spec.prefetch);
    const { consumerTag } = await channel.consume(legacy, (message) => {
      if (message) this.#track(this.#deliver(channel, message, handler));
    });
    this.#consumerChannels.push({ channel, tag: consumerTag });
    this.#options.log.warn(
      { queue: legacy },
      'draining the queue of an earlier version; delete it once empty',
    );
  }

  /**
   * `<queuePrefix>.redelivered` and `.undeliverable` (rabbitmq-queues.ts), started with the first
   * consumer on a connection of their own.
   */
  #startRedelivered(): void {
    if (this.#redelivered || this.#closing) return;
    this.#redelivered = new RedeliveredConsumer({
      queuePrefix: this.#options.queuePrefix,
      connect: async () =>
        amqp.connect(await this.#connectOptions(), {
          noDelay: true,
          clientProperties: { connection_name: 'mercurio-redelivered' },
        }),
      onRedelivered: (channel, message) => this.#redeliver(channel, message),
      onUndeliverable: (channel, message) => this.#refuseUndeliverable(channel, message),
      log: this.#options.log,
    });
    this.#redelivered.start();
  }

  /**
   * What a router queue dead-lettered after `DELIVERY_LIMIT` returns: its routing key is the one
   * it was published with, which the broker authorised; it goes to the consumer bound to it. One
   * that expired in its queue (typing) is dropped, as its queue would have. Its `x-death` header
   * is never read for its topic (anyone can write one).
   */
  async #redeliver(channel: Channel, message: ConsumeMessage): Promise<void> {
    const topic = message.fields.routingKey;
    const death = newestDeath(message.properties.headers);
    if (death?.reason === 'expired') {
      this.#drop(channel, message, 'expired in its queue');
      return;
    }
    // Handed over apart from its queue: it may be processed after later messages of its sender.
    this.#options.log.warn(
      { topic, from: death?.queue, reason: death?.reason },
      'message handed over through the redelivered queue',
    );
    // None bound to it yet (the router is starting): back to the queue, a bit later; the
    // queue's delivery limit sends what no consumer ever takes to `.undeliverable`, then away.
    const handler: InboundHandler =
      this.#consumerFor(topic)?.handler ??
      (async () => {
        throw new Error(`no consumer bound to ${topic}`);
      });
    // A nack would count as a return against the queue's delivery limit: a copy goes back instead.
    const later = () => this.#republish(redeliveredName(this.#options.queuePrefix), message);
    await this.#deliver(channel, message, handler, { topic, redelivered: true, later });
  }

  /** A copy of a message to `exchange` with its routing key, confirmed. */
  async #republish(exchange: string, message: ConsumeMessage): Promise<void> {
    const channel = this.#publishers[0];
    if (!channel) throw new Error('RabbitMQ publisher channels are not open');
    await new Promise<void>((resolve, reject) => {
      // Not all properties: a client's user_id would not be the router's, which the broker refuses.
      const { headers, contentType } = message.properties;
      const options = { headers, contentType, persistent: true };
      channel.publish(exchange, message.fields.routingKey, message.content, options, (error) =>
        error ? reject(error) : resolve(),
      );
    });
  }

  /**
   * What `<queuePrefix>.redelivered` could not hand over either: its topic, from `x-death`, is
   * only used to refuse it (an over-long topic cannot be processed, see undeliverableTopic).
   */
  async #refuseUndeliverable(channel: Channel, message: ConsumeMessage): Promise<void> {
    const undeliverable = undeliverableTopic(message.properties.headers);
    const consumer = undeliverable.ok ? this.#consumerFor(undeliverable.topic) : undefined;
    if (!undeliverable.ok || !consumer) {
      this.#drop(
        channel,
        message,
        undeliverable.ok ? 'no consumer bound to its topic' : undeliverable.problem,
      );
      return;
    }
    await this.#deliver(channel, message, consumer.handler, {
      topic: undeliverable.topic,
      redelivered: true,
    });
  }

  #drop(channel: Channel, message: ConsumeMessage, why: string): void {
    this.#options.log.warn({ why, queue: message.fields.exchange }, 'redelivered message dropped');
    try {
      channel.ack(message);
    } catch {
      // The channel is gone: the message comes back and is dropped then.
    }
  }

  /** The consumer whose kinds take this routing key, else the one with the whole namespace. */
  #consumerFor(routingKey: string): Consumer | undefined {
    const takes = (patterns: string[]) => patterns.some((pattern) => bindingMatches(pattern, routingKey));
    return (
      this.#consumers.find(({ spec }) => takes(kindPatterns(spec))) ??
      this.#consumers.find(({ spec }) => takes(bindingPatterns(spec)))
    );
  }

  async #deliver(
    channel: Channel,
    message: ConsumeMessage,
    handler: InboundHandler,
    /** The topic when it is not the routing key, and how to retry it later instead of a nack. */
    redelivery?: { topic: string; redelivered: true; later?: () => Promise<void> },
  ): Promise<void> {
    let done = false;
    const redelivered = message.fields.redelivered || redelivery !== undefined;
    try {
      await handler({
        topic: redelivery?.topic ?? message.fields.routingKey,
        form: 'amqp',
        body: message.content,
        redelivered,
        // RabbitMQ's MQTT plugin passes the PUBLISH's DUP flag on as this header.
        retransmitted: message.properties.headers?.[MQTT_DUP_HEADER] === true,
        // A quorum queue counts returns; a classic one (an earlier version's) only says
        // "redelivered", which is at least one failed attempt.
        attempts: Math.max(deliveryCount(message.properties.headers) ?? 0, redelivered ? 1 : 0),
        abandoned: this.#closedFlag(channel),
      });
      done = true;
    } catch (error) {
      // Its channel was closed (a pause): the message is back in its queue already.
      if (redelivery === undefined && (this.#paused || this.#channelStates.get(channel)?.closed)) return;
      this.#options.log.error(
        { err: error, topic: message.fields.routingKey },
        'message processing failed; will retry',
      );
      await sleep(this.#options.retryDelayMs);
      done =
        (await redelivery?.later?.().then(
          () => true,
          () => false,
        )) ?? false;
    }
    try {
      if (done) channel.ack(message);
      else channel.nack(message, false, true);
    } catch {
      // The channel is gone: the broker redelivers the unacked message on its own.
    }
  }

  /**
   * Whether `channel` has closed, from its first delivery on: a delivery on a closed channel can
   * no longer be acknowledged, and the broker delivers it again (InboundMessage.abandoned).
   */
  #closedFlag(channel: Channel): () => boolean {
    let state = this.#channelStates.get(channel);
    if (!state) {
      const fresh = { closed: false };
      channel.once('close', () => {
        fresh.closed = true;
      });
      this.#channelStates.set(channel, fresh);
      state = fresh;
    }
    const known = state;
    return () => known.closed;
  }

  #track(work: Promise<void>): void {
    const tracked = work.catch(() => {}).finally(() => this.#inFlight.delete(tracked));
    this.#inFlight.add(tracked);
  }
}

/** The patterns of a consumer's own kinds. */
function kindPatterns(spec: ConsumerSpec): string[] {
  return spec.kinds.map((kind) => topicPattern(kind, 'amqp', spec.app));
}

/** What a consumer's queue is bound with on amq.topic. */
function bindingPatterns(spec: ConsumerSpec): string[] {
  const patterns = kindPatterns(spec);
  if (spec.wholeOutgoingNamespace) patterns.push(outgoingNamespacePattern('amqp', spec.app));
  return patterns;
}

/**
 * The publisher channel of an event: chosen by the user it is for, so that one user's events
 * keep their order (a channel delivers in order, separate channels do not).
 */
function channelIndex(topic: Topic, channels: number): number {
  if (channels === 1) return 0;
  const key = 'user' in topic ? `${topic.app}/${topic.user}` : topic.app;
  // FNV-1a: cheap, and spreads similar user ids.
  let hash = 0x811c9dc5;
  for (let i = 0; i < key.length; i++) hash = Math.imul(hash ^ key.charCodeAt(i), 0x01000193);
  return (hash >>> 0) % channels;
}
