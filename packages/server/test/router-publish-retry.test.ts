import { setTimeout as sleep } from 'node:timers/promises';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Bus } from '../src/bus/bus.js';
import type { Received, TestClient } from './support/mqtt-client.js';
import { ENGINES, TestStack } from './support/stack.js';

/**
 * The broker refusing the router's publish after the message was stored: the message goes back to
 * the bus (RabbitMQ redelivers it; the embedded broker disconnects the client, whose resend is the
 * redelivery), and its redelivery publishes the stored copies: a message without a client id
 * (every Chat21 client's) is found by its content, not stored a second time under a new id.
 */
describe.each(ENGINES)('a failed publish goes back to the bus (%s)', (engine) => {
  const stack = new TestStack('pubretry', {}, engine);
  let ida: TestClient;
  let joe: TestClient;
  let failures = 0;
  let metrics: () => Promise<string>;

  beforeAll(async () => {
    const { bus, metrics: engineMetrics } = await stack.startRouter();
    metrics = () => engineMetrics.registry.metrics();
    // Fault injection on the real bus the router publishes on: the next `failures` calls fail.
    const publish = bus.publish.bind(bus);
    (bus as { publish: Bus['publish'] }).publish = (events) =>
      failures-- > 0 ? Promise.reject(new Error('injected: publish not confirmed')) : publish(events);
    // Ida's client reconnects as Chat21's and the SDK do (the embedded broker disconnects it).
    [ida, joe] = (await Promise.all([
      stack.client('ida', { reconnectPeriod: 100 }),
      stack.client('joe'),
    ])) as [TestClient, TestClient];
  });
  afterAll(async () => {
    // Closed once by the broker, it counts as closed for TestClient: its reconnects end here.
    await ida?.mqtt.endAsync(true);
    await stack.close();
  });

  it('stores a message without message_id once and delivers it once, with the stored id', async () => {
    failures = 2;
    const inbox = (m: Received) => m.topic === stack.topic('users', 'joe', 'messages', 'ida', 'clientadded');
    await ida.publish(stack.outgoing('ida', 'joe'), { text: 'sent while the broker refused', type: 'text' });

    const delivered = await joe.waitFor(inbox);
    expect(failures).toBeLessThan(0); // both injected failures happened before the delivery
    const { rows } = await stack.sql.query<{ message_id: string; seq: number }>(
      'SELECT message_id, seq FROM messages WHERE app_id = $1 AND sender = $2',
      [stack.app, 'ida'],
    );
    expect(rows).toEqual([{ message_id: delivered.payload.message_id, seq: 1 }]);

    // No late second copy either.
    await sleep(500);
    expect(joe.received.filter(inbox)).toHaveLength(1);

    // Operators see where the time went: three deliveries processed, one confirmed.
    const text = await metrics();
    for (const [stage, count] of [
      ['queued', 3],
      ['process', 3],
      ['confirm', 1],
    ])
      expect(text).toContain(
        `mercurio_router_stage_seconds_count{kind="outgoing",stage="${stage}"} ${count}`,
      );
  });
});
