import type { Server as HttpServer } from 'node:http';
import type { Topic, TopicForm, TopicKind } from '@mercurio/protocol';

/**
 * How messages move. The router consumes inbound kinds and publishes events; it never knows
 * whether RabbitMQ or the embedded broker carries them.
 */
export interface Bus {
  /**
   * Starts delivering inbound messages of the given kinds to `handler`. The message is
   * acknowledged when the handler resolves and handed back for redelivery when it rejects.
   */
  consume(spec: ConsumerSpec, handler: InboundHandler): Promise<void>;
  /**
   * Publishes every event; resolves once the broker has accepted (confirmed) all of them. Events
   * are sent in call order, also across calls not awaited one after the other: the router relies
   * on it to keep a conversation's copies in order while their confirms are pending.
   */
  publish(events: readonly Publication[]): Promise<void>;
  /**
   * Sets aside a message that will never be processed (the router's retry policy gave up on it):
   * RabbitMQ keeps it in the `<queuePrefix>.dead` queue, the embedded engine in the dead_letters
   * table. Resolves once it is kept; the caller then acknowledges the message.
   */
  deadLetter(letter: DeadLetter): Promise<void>;
  /** Stops consuming, lets handlers in flight finish, and disconnects. */
  close(): Promise<void>;
  /**
   * Only a broker running in this process (the embedded engine) has it: the MQTT endpoints it
   * serves itself. Undefined for an outside broker (RabbitMQ), which clients reach directly.
   */
  readonly inProcess?: InProcessBroker | undefined;
  /** Stopping and restarting consumption (the router's store failed); both buses have it. */
  readonly pausable?: PausableConsumption | undefined;
  /**
   * Only a broker several routers share (RabbitMQ): a spec with `sharded` is then consumed one
   * shard at a time, as the router's shard balancer starts and stops them, not by `consume`.
   */
  readonly sharded?: ShardedConsumption | undefined;
}

/**
 * Consuming the sharded families (docs/scaling.md) shard by shard: shard s of every spec with
 * `sharded` registered through `consume`, started and stopped together.
 */
export interface ShardedConsumption {
  /** Shards of each family; fixed for a deployment. */
  readonly count: number;
  /**
   * Whether the bus can consume now (connected, not paused): a router that cannot should let
   * others take its shards rather than keep them waiting for its reconnect.
   */
  readonly consuming: boolean;
  start(shard: number): Promise<void>;
  /** Stops consuming the shard; resolves once every message taken from it was settled. */
  stop(shard: number): Promise<void>;
}

/**
 * A router whose store fails stops taking work (router/store-pause.ts). While paused, no new
 * message reaches a handler. RabbitMQ also hands back every message not yet acknowledged (in
 * queue order, ahead of the rest: this or another router takes them); such a delivery is
 * `abandoned`. The embedded broker keeps them waiting in this process.
 */
export interface PausableConsumption {
  /** Stops delivering to every consumer of this bus. */
  pause(): Promise<void>;
  /** Delivers again, what was handed back or kept waiting first. */
  resume(): Promise<void>;
}

export interface InProcessBroker {
  /** The bound port of its MQTT over TCP listener; undefined without one. */
  readonly tcpPort: number | undefined;
  /** Serves MQTT over WebSocket on `server` (the HTTP API's) at `path`; other paths are left alone. */
  attachWebSocket(server: HttpServer, path: string): void;
}

export interface ConsumerSpec {
  /** Stable name: routers with the same name share one queue (competing consumers). */
  name: string;
  kinds: readonly TopicKind[];
  /** Only this app's topics; every app when undefined. */
  app: string | undefined;
  /**
   * Also every other topic of the outgoing namespace (`apps/<app>/outgoing/#`), whatever its
   * shape, so the router can refuse a topic of no known shape instead of never hearing of it.
   * A topic matching both is delivered once.
   */
  wholeOutgoingNamespace?: boolean;
  /**
   * Order-sensitive: on a bus with `sharded`, spread by routing key over shards that one router
   * at a time consumes, so one sender's messages to one conversation are handled in order even
   * with several routers. Elsewhere (one process) consumed as usual.
   */
  sharded?: boolean;
  /** Most unacknowledged messages held at once. */
  prefetch: number;
  /**
   * Transient kinds (typing) are not worth keeping across a broker restart or a long router
   * outage: they expire after this many milliseconds.
   */
  ttlMs?: number;
}

export interface InboundMessage {
  /** The topic as published, in the bus's own form. */
  topic: string;
  form: TopicForm;
  body: Buffer;
  /** The broker delivered this message before (a consumer failed or died before acking it). */
  redelivered: boolean;
  /**
   * The client says it sends this message again (MQTT's DUP flag: its PUBACK was lost). The
   * client's word, not the broker's: used only to look for the copy already stored, never to spare
   * the message its sender's limits.
   */
  retransmitted: boolean;
  /**
   * True once this delivery can no longer be acknowledged (RabbitMQ: its channel closed), so the
   * broker delivers it again; undefined when a bus never loses a delivery that way.
   */
  abandoned?: () => boolean;
  /**
   * Failed processing attempts before this delivery, as far as the bus knows (it carries the count
   * across redeliveries; RabbitMQ only knows "redelivered", which counts as one).
   */
  attempts: number;
}

/** A message the router gave up on, with why. */
export interface DeadLetter {
  message: InboundMessage;
  /** Attempts made in all. */
  attempts: number;
  /** The last failure, for operators. */
  error: string;
  failedAt: number;
  /**
   * Names the letter while it waits in a broker-side buffer (RabbitMQ's `<queuePrefix>.dead`), so
   * that one delivered twice from there is kept once.
   */
  key?: string;
}

export type InboundHandler = (message: InboundMessage) => Promise<void>;

export interface Publication {
  topic: Topic;
  /** Serialised once, as JSON. */
  payload: unknown;
}
