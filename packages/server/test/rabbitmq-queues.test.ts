import { describe, expect, it } from 'vitest';
import {
  bindingMatches,
  redeliveredQueueArguments,
  routerQueueArguments,
  undeliverableTopic,
} from '../src/bus/rabbitmq-queues.js';

const death = (routingKey: string) => ({
  'x-death': [{ count: 1, reason: 'delivery_limit', queue: 'p.redelivered', 'routing-keys': [routingKey] }],
});

describe('the router queues on RabbitMQ (rabbitmq-queues.ts)', () => {
  it('dead letters of the router queues keep the routing key the broker authorised', () => {
    const args = routerQueueArguments('p', {
      name: 'messages',
      kinds: ['outgoing'],
      app: undefined,
      prefetch: 1,
    });
    expect(args).toMatchObject({ 'x-dead-letter-exchange': 'p.redelivered', 'x-delivery-limit': 1 });
    expect(args).not.toHaveProperty('x-dead-letter-routing-key');
    expect(redeliveredQueueArguments('p')).toMatchObject({
      'x-dead-letter-exchange': 'p.undeliverable',
      'x-dead-letter-routing-key': 'undeliverable',
    });
  });

  it.each([
    ['apps.a.outgoing.#', 'apps.a.outgoing.users.u.messages.r.outgoing', true],
    ['apps.a.outgoing.#', 'apps.a.outgoing', true],
    ['apps.a.outgoing.#', 'apps.b.outgoing.users', false],
    ['apps.*.outgoing.users.*.messages.*.outgoing', 'apps.a.outgoing.users.u.messages.r.outgoing', true],
    ['apps.*.outgoing.users.*.messages.*.outgoing', 'apps.a.outgoing.users.u.messages.r.x.outgoing', false],
    ['apps.*.outgoing.users.*.messages.*.outgoing', 'apps.a.outgoing.users.u.messages.outgoing', false],
  ])('binding %s takes %s: %s', (pattern, key, takes) => {
    expect(bindingMatches(pattern, key)).toBe(takes);
  });

  it('from <prefix>.undeliverable only an over-long x-death topic is taken, and only to be refused', () => {
    const long = `apps.a.outgoing.users.u.messages.${'x'.repeat(300)}.outgoing`;
    expect(undeliverableTopic(death(long))).toEqual({ ok: true, topic: long });
    // One that fits a routing key is not why a message gets there: never processed from there.
    expect(undeliverableTopic(death('apps.a.outgoing.users.victim.messages.ann.outgoing')).ok).toBe(false);
    expect(undeliverableTopic(undefined).ok).toBe(false);
    expect(undeliverableTopic({ 'x-death': 'forged' }).ok).toBe(false);
  });
});
