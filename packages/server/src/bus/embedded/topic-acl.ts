import { scopeAllows } from '@mercurio/protocol';
import type { ClientGrant } from './client-token.js';

/** RabbitMQ's MQTT plugins publish to and bind on this exchange (mqtt.exchange). */
const EXCHANGE = 'amq.topic';
const VHOST = '/';

/**
 * RabbitMQ's MQTT plugin turns a topic into a routing key by replacing '/' with '.', and an
 * MQTT '.' stays a '.': so '.' is one more level separator (seen on 3.10: a publish to
 * `a/x.y` reaches a subscriber of `a/x/#` as `a/x/y`). The embedded broker spells topics the
 * way RabbitMQ delivers them back, so that both route, authorize and deliver alike.
 */
export function normalizeTopic(topic: string): string {
  return topic.replaceAll('.', '/');
}

/**
 * The same for a subscription filter; a whole level '*' is AMQP's one-word wildcard on
 * RabbitMQ, i.e. MQTT's '+'.
 */
export function normalizeFilter(filter: string): string {
  return normalizeTopic(filter)
    .split('/')
    .map((level) => (level === '*' ? '+' : level))
    .join('/');
}

/** A normalized MQTT topic or filter in AMQP form: the routing or binding key RabbitMQ checks. */
function amqpKey(normalized: string): string {
  return normalized.replaceAll('/', '.').replaceAll('+', '*');
}

/** RabbitMQ's topic authorization of a publish: write on amq.topic with the routing key. */
export function mayPublish(grant: ClientGrant, topic: string, resourceServerId: string): boolean {
  return scopeAllows(
    grant.scopes,
    { permission: 'write', vhost: VHOST, resource: EXCHANGE, routingKey: amqpKey(topic) },
    resourceServerId,
  );
}

/**
 * RabbitMQ's checks for an MQTT subscription: the plugin declares, binds and consumes the queue
 * `mqtt-subscription-<clientId>qos<n>` (configure, write, read on it), reading from amq.topic
 * with the filter as binding key (read, topic authorization).
 */
export function maySubscribe(
  grant: ClientGrant,
  clientId: string,
  filter: string,
  qos: number,
  resourceServerId: string,
): boolean {
  const queue = `mqtt-subscription-${clientId}qos${Math.min(qos, 1)}`;
  const allows = (permission: 'read' | 'write' | 'configure', resource: string, routingKey?: string) =>
    scopeAllows(
      grant.scopes,
      { permission, vhost: VHOST, resource, ...(routingKey === undefined ? {} : { routingKey }) },
      resourceServerId,
    );
  return (
    allows('configure', queue) &&
    allows('write', queue) &&
    allows('read', queue) &&
    allows('read', EXCHANGE) &&
    allows('read', EXCHANGE, amqpKey(filter))
  );
}

/** Whether an MQTT topic matches an MQTT subscription pattern ('+' one level, '#' the rest). */
export function topicMatches(pattern: string, topic: string): boolean {
  const want = pattern.split('/');
  const have = topic.split('/');
  for (const [i, level] of want.entries()) {
    if (level === '#') return true;
    if (i >= have.length) return false;
    if (level !== '+' && level !== have[i]) return false;
  }
  return want.length === have.length;
}
