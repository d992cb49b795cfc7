import { MAX_TOPIC_BYTES } from '@mercurio/protocol';
import type { ConsumerSpec } from './bus.js';

/**
 * The router's queues on RabbitMQ, and why they are quorum queues with a delivery limit.
 *
 * RabbitMQ 3.10's MQTT plugin accepts a topic longer than 255 bytes and routes it, but an AMQP
 * routing key is a shortstr (at most 255 bytes): every attempt to hand such a message to the
 * router closes the router's AMQP connection (`method_field_shortstr_overflow`), and a classic
 * queue hands it back first, forever. No 3.10 setting refuses long MQTT topics. A quorum queue
 * counts a delivery whose connection died (seen on 3.10.8): past `DELIVERY_LIMIT` it
 * dead-letters the message, and everything that was in flight with it, into
 * `<prefix>.redelivered`, keeping its routing key.
 *
 * Trust: the router takes a message's topic, and so its sender, from the routing key only, which
 * the broker's topic authorisation checked when the client published on `amq.topic`. Never from
 * a header: any AMQP publisher writes headers, `x-death` included, and when the broker
 * dead-letters a message whose own `x-death` already has an entry for the same queue and reason,
 * it keeps that entry's routing keys (seen on 3.10.8). `<prefix>.redelivered` is a topic exchange
 * for the same reason: a publish to it is checked against the publisher's routing-key scopes,
 * where a fanout exchange would take any routing key from anyone allowed to write to it.
 *
 * `<prefix>.redelivered` is consumed on an AMQP connection of its own with a prefetch of 1, so
 * that a message there is in flight alone: the over-long one closes that connection, and only its
 * own, twice, and is then dead-lettered into `<prefix>.undeliverable` under a short routing key.
 * What arrives there is refused with an error event to the sender named by its `x-death` topic
 * (the only place its topic is left), and only if that topic is over-long: nothing from there is
 * ever processed as a message.
 */
/**
 * Returns before a message goes to `<prefix>.redelivered`: one, so that a single router restart
 * keeps in-flight messages in their queue (and their order); an over-long topic costs two
 * reconnects of the router's AMQP connection.
 */
export const DELIVERY_LIMIT = 1;

/** The routing key of what `<prefix>.redelivered` gave up on: short, so always deliverable. */
const UNDELIVERABLE_KEY = 'undeliverable';

/** How long an unused transient queue (typing) survives its last consumer. */
const TRANSIENT_QUEUE_EXPIRES_MS = 10 * 60_000;

/**
 * `<prefix>.<name>.quorum`. The `.quorum` suffix: up to 0.x the queues were classic ones named
 * `<prefix>.<name>`, and a queue cannot change its type (redeclaring it fails with
 * PRECONDITION_FAILED); see `legacyQueueName` and docs/operations.md, "Upgrading".
 */
export function routerQueueName(prefix: string, spec: Pick<ConsumerSpec, 'name'>): string {
  return `${prefix}.${spec.name}.quorum`;
}

/** The classic queue of the same consumer in earlier versions; drained and unbound, never redeclared. */
export function legacyQueueName(prefix: string, spec: Pick<ConsumerSpec, 'name'>): string {
  return `${prefix}.${spec.name}`;
}

/** Exchange (topic) and queue of messages the router's queues gave up handing over (see above). */
export function redeliveredName(prefix: string): string {
  return `${prefix}.redelivered`;
}

/** Exchange (topic) and queue of messages that `<prefix>.redelivered` could not hand over either. */
export function undeliverableName(prefix: string): string {
  return `${prefix}.undeliverable`;
}

/** The binding of each: `<prefix>.redelivered` takes any routing key, the other only its own. */
export const REDELIVERED_BINDING = '#';
export const UNDELIVERABLE_BINDING = UNDELIVERABLE_KEY;

/** `<prefix>.redelivered`'s queue: one more return, then `<prefix>.undeliverable`. */
export function redeliveredQueueArguments(prefix: string): Record<string, unknown> {
  return {
    'x-queue-type': 'quorum',
    'x-delivery-limit': DELIVERY_LIMIT,
    'x-dead-letter-exchange': undeliverableName(prefix),
    'x-dead-letter-routing-key': UNDELIVERABLE_KEY,
  };
}

export function routerQueueArguments(prefix: string, spec: ConsumerSpec): Record<string, unknown> {
  return {
    'x-queue-type': 'quorum',
    'x-delivery-limit': DELIVERY_LIMIT,
    'x-dead-letter-exchange': redeliveredName(prefix),
    // No x-dead-letter-routing-key: the dead letter keeps the routing key the broker authorised.
    // Quorum queues have message TTL since 3.10; what expires is dead-lettered too (reason
    // 'expired'), and dropped by the redelivered consumer.
    ...(spec.ttlMs === undefined
      ? {}
      : { 'x-message-ttl': spec.ttlMs, 'x-expires': TRANSIENT_QUEUE_EXPIRES_MS }),
  };
}

/**
 * A sharded family (several routers, docs/scaling.md): `<prefix>.<name>.shards`, a consistent-hash
 * exchange bound to `amq.topic` with the family's patterns, spreads its messages by routing key
 * over `<prefix>.<name>.shard-<i>`. One routing key — one sender's messages to one conversation —
 * always lands in the same shard, which one router at a time consumes.
 */
export function shardExchangeName(prefix: string, spec: Pick<ConsumerSpec, 'name'>): string {
  return `${prefix}.${spec.name}.shards`;
}

export function shardQueueName(prefix: string, spec: Pick<ConsumerSpec, 'name'>, shard: number): string {
  return `${prefix}.${spec.name}.shard-${shard}`;
}

/**
 * A shard's queue: a router queue whose broker lets one consumer at a time receive (the shard
 * leases decide which router consumes; this is the broker's guard behind them).
 */
export function shardQueueArguments(prefix: string, spec: ConsumerSpec): Record<string, unknown> {
  return {
    ...routerQueueArguments(prefix, spec),
    'x-single-active-consumer': true,
  };
}

/** Every shard has the same weight in the consistent-hash exchange. */
export const SHARD_WEIGHT = '1';

/** Whether a topic binding (`*` one word, `#` any number) takes a routing key, as RabbitMQ decides. */
export function bindingMatches(pattern: string, routingKey: string): boolean {
  const want = pattern.split('.');
  const have = routingKey.split('.');
  const from = (i: number, j: number): boolean => {
    if (i === want.length) return j === have.length;
    if (want[i] === '#') return from(i + 1, j) || (j < have.length && from(i, j + 1));
    return j < have.length && (want[i] === '*' || want[i] === have[j]) && from(i + 1, j + 1);
  };
  return from(0, 0);
}

/** Where the broker's `x-death` header says a message was dead-lettered from, and why. */
export interface Death {
  queue: string;
  reason: string;
  /** The routing key it had there. Written by whoever published the message if they wished. */
  routingKey: string;
}

/** The newest `x-death` entry, if the message has a well-formed one. Never proof of anything. */
export function newestDeath(headers: Record<string, unknown> | undefined): Death | undefined {
  const deaths = headers?.['x-death'];
  const newest = Array.isArray(deaths) ? (deaths[0] as Record<string, unknown> | undefined) : undefined;
  const keys = newest?.['routing-keys'];
  const routingKey = Array.isArray(keys) ? keys[0] : undefined;
  const queue = newest?.queue;
  const reason = newest?.reason;
  if (typeof routingKey !== 'string' || typeof queue !== 'string' || typeof reason !== 'string')
    return undefined;
  return { queue, reason, routingKey };
}

/**
 * The topic to refuse for a message from `<prefix>.undeliverable`: its `x-death` topic, only if
 * that is too long for a routing key (what legitimately ends there); the sender it names gets an
 * invalid_topic error event and nothing else happens. Anything else there is dropped.
 */
export function undeliverableTopic(
  headers: Record<string, unknown> | undefined,
): { ok: true; topic: string } | { ok: false; problem: string } {
  const death = newestDeath(headers);
  if (death === undefined) return { ok: false, problem: 'no x-death header with a routing key' };
  if (Buffer.byteLength(death.routingKey) <= MAX_TOPIC_BYTES)
    return { ok: false, problem: 'its x-death topic fits a routing key: not why it is here' };
  return { ok: true, topic: death.routingKey };
}

/** Failed deliveries so far, as a quorum queue counts them (`x-delivery-count`), if it says. */
export function deliveryCount(headers: Record<string, unknown> | undefined): number | undefined {
  const count = headers?.['x-delivery-count'];
  return typeof count === 'number' && Number.isInteger(count) && count >= 0 ? count : undefined;
}
