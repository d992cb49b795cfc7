import type { ConsumerSpec } from './bus.js';

/**
 * The router's queues on RabbitMQ, and why they are quorum queues with a delivery limit.
 *
 * RabbitMQ 3.10's MQTT plugin accepts a topic longer than 255 bytes and routes it, but an AMQP
 * routing key is a shortstr (at most 255 bytes): every attempt to hand such a message to the
 * router closes the router's AMQP connection (`method_field_shortstr_overflow`), and a classic
 * queue hands it back first, forever. No 3.10 setting refuses long MQTT topics. A quorum queue
 * counts a delivery whose connection died (seen on 3.10.8): past `DELIVERY_LIMIT` it
 * dead-letters the message with a routing key of our choosing, which any AMQP consumer can
 * receive, into `<prefix>.redelivered`; the original routing key travels in the `x-death`
 * header (a long string, no limit). The router consumes that queue like the others: a good
 * message that was merely in flight when the connection died is processed as usual, the
 * over-long one is refused with an error event to its sender.
 */

/**
 * Returns before a message goes to `<prefix>.redelivered`: one, so that a single router restart
 * keeps in-flight messages in their queue (and their order); an over-long topic costs two
 * reconnects of the router's AMQP connection.
 */
export const DELIVERY_LIMIT = 1;

/** The routing key dead letters of the router's queues carry: short, so always deliverable. */
const REDELIVERED_KEY = 'redelivered';

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

/** Exchange and queue of messages the router's queues gave up handing over (see above). */
export function redeliveredName(prefix: string): string {
  return `${prefix}.redelivered`;
}

export function routerQueueArguments(prefix: string, spec: ConsumerSpec): Record<string, unknown> {
  return {
    'x-queue-type': 'quorum',
    'x-delivery-limit': DELIVERY_LIMIT,
    'x-dead-letter-exchange': redeliveredName(prefix),
    'x-dead-letter-routing-key': REDELIVERED_KEY,
    // Quorum queues have message TTL since 3.10; what expires is dead-lettered too (reason
    // 'expired'), and dropped by the redelivered consumer.
    ...(spec.ttlMs === undefined
      ? {}
      : { 'x-message-ttl': spec.ttlMs, 'x-expires': TRANSIENT_QUEUE_EXPIRES_MS }),
  };
}

/** What the broker says about a message it dead-lettered from one of the router's queues. */
export type Redelivery =
  | { ok: true; queue: string; routingKey: string; reason: string }
  | { ok: false; problem: string };

/**
 * Reads the newest `x-death` entry of a message from `<prefix>.redelivered`. Only the broker's
 * dead-lettering gives it the routing key `redelivered`: a user token may write with its own
 * routing keys only (`apps.<app>.users.<me>.*`, `apps.<app>.outgoing.users.<me>.*`; Chat21's
 * scopes on any exchange), so a message a client put there itself is refused. MQTT 3.1.1 carries
 * no headers; docs/security.md says why the AMQP port must stay private all the same.
 */
export function readRedelivery(routingKey: string, headers: Record<string, unknown> | undefined): Redelivery {
  if (routingKey !== REDELIVERED_KEY)
    return { ok: false, problem: `routing key is not '${REDELIVERED_KEY}': not dead-lettered by the broker` };
  const deaths = headers?.['x-death'];
  const newest = Array.isArray(deaths) ? (deaths[0] as Record<string, unknown> | undefined) : undefined;
  const keys = newest?.['routing-keys'];
  const original = Array.isArray(keys) ? keys[0] : undefined;
  const queue = newest?.queue;
  const reason = newest?.reason;
  if (typeof original !== 'string' || typeof queue !== 'string' || typeof reason !== 'string')
    return { ok: false, problem: 'no x-death header with a queue, a reason and a routing key' };
  return { ok: true, queue, routingKey: original, reason };
}

/** Failed deliveries so far, as a quorum queue counts them (`x-delivery-count`), if it says. */
export function deliveryCount(headers: Record<string, unknown> | undefined): number | undefined {
  const count = headers?.['x-delivery-count'];
  return typeof count === 'number' && Number.isInteger(count) && count >= 0 ? count : undefined;
}
