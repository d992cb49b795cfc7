import { chat21UserScopes, userScopes } from '@mercurio/protocol';
import amqp from 'amqplib';
import { SignJWT } from 'jose';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { shardQueueName } from '../src/bus/rabbitmq-queues.js';
import { TestClient } from './support/mqtt-client.js';
import { services } from './support/services.js';
import { TestStack } from './support/stack.js';

/** What RabbitMQ's OAuth2 plugin refuses, seen from a real MQTT client over WebSocket. */
describe('the broker enforces each user’s topic permissions from the JWT', () => {
  const stack = new TestStack('acl');

  beforeAll(() => stack.startRouter());
  afterAll(() => stack.close());

  const sign = (claims: Record<string, unknown>, secret: string, expiresIn: string | number) =>
    new SignJWT(claims)
      .setProtectedHeader({ alg: 'HS256' })
      .setSubject(String(claims.sub))
      .setAudience(['rabbitmq', String(claims.sub)])
      .setIssuedAt()
      .setExpirationTime(expiresIn)
      .sign(new TextEncoder().encode(secret));

  // Over TCP RabbitMQ answers CONNACK "not authorized"; over Web-MQTT it closes the socket
  // before any CONNACK. Either way the client never gets a session.
  const REFUSED = {
    tcp: /Not authorized|Bad username or password/i,
    ws: /closed before CONNACK|ended by the other party/,
  };
  const connectWith = (transport: 'tcp' | 'ws', token: string) =>
    TestClient.connect(transport === 'ws' ? services().wsUrl : services().mqttUrl, token);

  it('a valid token connects and may use its own namespace', async () => {
    const client = await stack.client('owner');
    await client.publish(stack.topic('users', 'owner', 'anything'), { ok: true });
    await client.waitFor((m) => m.topic === stack.topic('users', 'owner', 'anything'));
    expect(client.closed).toBe(false);
  });

  it("closes the connection of a client that publishes into another user's inbox", async () => {
    const victim = await stack.client('victim');
    const intruder = await stack.client('intruder', { subscribe: false });
    intruder
      .publish(stack.topic('users', 'victim', 'messages', 'intruder', 'clientadded'), { text: 'fake' })
      .catch(() => {});
    await intruder.waitForClose();
    await new Promise((resolve) => setTimeout(resolve, 300));
    expect(victim.received.some((m) => m.payload.text === 'fake')).toBe(false);
  });

  it('closes the connection of a client that sends as another user', async () => {
    const intruder = await stack.client('intruder2', { subscribe: false });
    intruder.publish(stack.outgoing('victim', 'intruder2'), { text: 'as victim' }).catch(() => {});
    await intruder.waitForClose();
  });

  it("closes the connection of a client that subscribes to another user's inbox", async () => {
    const intruder = await stack.client('intruder3', { subscribe: false });
    intruder.subscribe(stack.topic('users', 'victim', '#')).catch(() => {});
    await intruder.waitForClose();
  });

  for (const transport of ['tcp', 'ws'] as const) {
    it(`refuses an expired token at connect (${transport})`, async () => {
      const claims = { sub: 'late', scope: userScopes(stack.app, 'late') };
      const expired = await sign(claims, services().jwtSecret, Math.floor(Date.now() / 1000) - 60);
      await expect(connectWith(transport, expired)).rejects.toThrow(REFUSED[transport]);
      // the same claims, unexpired, are accepted: it is the expiry that is refused
      const fresh = await sign(claims, services().jwtSecret, '1h');
      await (await connectWith(transport, fresh)).end();
    });

    it(`refuses a token with a wrong signature at connect (${transport})`, async () => {
      const claims = { sub: 'forger', scope: userScopes(stack.app, 'forger') };
      const forged = await sign(claims, 'not-the-secret-not-the-secret-not-the-secret', '1h');
      await expect(connectWith(transport, forged)).rejects.toThrow(REFUSED[transport]);
    });

    it(`refuses a connection without a token (${transport})`, async () => {
      await expect(connectWith(transport, '')).rejects.toThrow(REFUSED[transport]);
    });
  }

  it("a user's token cannot consume, declare or delete the router's queues over AMQP", async () => {
    const token = await stack.token('sneaky');
    // A shard of the messages queue: where the router takes every user's messages from.
    const queue = shardQueueName(stack.config.router.queuePrefix, { name: 'messages' }, 0);
    const url = new URL(services().amqpUrl);
    const connection = await amqp.connect({
      hostname: url.hostname,
      port: Number(url.port),
      username: 'x',
      password: token,
    });
    try {
      for (const attempt of [
        (ch: amqp.Channel) => ch.consume(queue, () => {}),
        (ch: amqp.Channel) => ch.deleteQueue(queue),
        (ch: amqp.Channel) => ch.purgeQueue(queue),
        (ch: amqp.Channel) => ch.bindQueue(queue, 'amq.topic', 'apps.#'),
      ]) {
        const channel = await connection.createChannel();
        channel.on('error', () => {});
        await expect(attempt(channel)).rejects.toThrow(/ACCESS_REFUSED|403/);
      }
      const { messageCount } = await (await connection.createChannel()).checkQueue(queue);
      expect(messageCount).toBeGreaterThanOrEqual(0);
    } finally {
      await connection.close().catch(() => {});
    }
  });

  it("tokens with Chat21's own (broader) scope set, as Tiledesk issues them, still work", async () => {
    const token = await sign(
      { sub: 'legacy', scope: chat21UserScopes(stack.app, 'legacy') },
      services().jwtSecret,
      '1h',
    );
    const client = await connectWith('ws', token);
    await client.subscribe(stack.topic('users', 'legacy', '#'));
    await client.publish(stack.topic('users', 'legacy', 'ping'), { ok: 1 });
    await client.waitFor((m) => m.topic.endsWith('/ping'));
    await client.end();
  });
});
