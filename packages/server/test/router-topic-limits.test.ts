import { randomUUID } from 'node:crypto';
import { chat21UserScopes, userScopes } from '@mercurio/protocol';
import amqp from 'amqplib';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { signServiceToken } from '../src/auth/tokens.js';
import { redeliveredName, routerQueueName } from '../src/bus/rabbitmq-queues.js';
import { signToken } from './support/acl-cases.js';
import type { Received, TestClient } from './support/mqtt-client.js';
import { services } from './support/services.js';
import { ENGINES, TestStack } from './support/stack.js';

/**
 * A bystander's message sent right after an attack must arrive within this. Before the fix it never
 * arrived (the router stalled); alone it takes ~1 s, but with three test files sharing two cores the
 * router's reconnects on RabbitMQ took 3.6 s once: the bound tells a stall from a busy machine.
 */
const BYSTANDER_WITHIN_MS = 8000;

/**
 * The corpus's attacks on how inbound topics reach the router. On RabbitMQ 3.10 a topic longer
 * than an AMQP routing key (255 bytes) in one's own outgoing namespace used to stall the router's
 * queue forever (each delivery closed the router's AMQP connection); a topic of no known shape
 * there was dropped without a word on both engines. Now each gets an invalid_topic error event
 * and a bystander's conversation goes on promptly.
 */
describe.each(ENGINES)('topics the router cannot take are refused, nobody stalls (%s)', (engine) => {
  const stack = new TestStack('topic-limits', {}, engine);
  let mallory: TestClient;
  let ann: TestClient;
  let ben: TestClient;
  const errors = (m: Received) => m.topic === stack.topic('users', 'mallory', 'errors', 'clientadded');

  beforeAll(async () => {
    await stack.startRouter();
    [mallory, ann, ben] = await Promise.all([
      stack.client('mallory'),
      stack.client('ann'),
      stack.client('ben'),
    ]);
  });
  afterAll(() => stack.close());

  /** Publishes the attack, then a bystander message at once; returns the attacker's refusal. */
  async function attack(topic: string): Promise<Received> {
    await mallory.publish(topic, { text: 'attack', message_id: randomUUID() });
    const text = `bystander ${randomUUID()}`;
    const sent = Date.now();
    await ann.publish(stack.outgoing('ann', 'ben'), { text });
    await ben.waitFor((m) => m.payload.text === text, 15_000);
    expect(Date.now() - sent, 'bystander latency after the attack (ms)').toBeLessThan(BYSTANDER_WITHIN_MS);
    // This attack's refusal: an earlier one's may still be on its way (RabbitMQ's path is slow).
    // A '.' in a level is a level separator to both brokers, and the refusal names it so.
    const refused = topic.replaceAll('.', '/');
    return mallory.waitFor((m) => errors(m) && m.payload.topic === refused, 15_000);
  }

  const longTopics: [string, () => string][] = [
    ["a recipient of 120 'é' (255+ bytes)", () => stack.outgoing('mallory', 'é'.repeat(120))],
    ['a 4 KB level', () => stack.outgoing('mallory', 'r'.repeat(4096))],
    [
      'a 4 KB typing topic (a queue with a TTL)',
      () => stack.topic('users', 'mallory', 'typing', 't'.repeat(4096)),
    ],
    [
      'a 4 KB receipt topic',
      () => stack.topic('users', 'mallory', 'messages', 'ann', 'm'.repeat(4096), 'update'),
    ],
  ];
  it.each(longTopics)('over 255 bytes: %s', { timeout: 40_000 }, async (_name, topic) => {
    const refusal = await attack(topic());
    expect(refusal.payload).toMatchObject({ code: 'invalid_topic', topic: topic() });
    expect(refusal.payload.message).toMatch(/255 bytes/);
  });

  it('a good message sent together with an over-long one is delivered, once', {
    timeout: 40_000,
  }, async () => {
    const before = mallory.received.filter(errors).length;
    const ids = Array.from({ length: 5 }, () => randomUUID());
    await mallory.publish(stack.outgoing('mallory', 'ann'), { text: 'before', message_id: ids[0] });
    await mallory.publish(stack.outgoing('mallory', 'x'.repeat(300)), { text: 'long' });
    for (const id of ids.slice(1))
      await mallory.publish(stack.outgoing('mallory', 'ann'), { text: 'after', message_id: id });
    await mallory.waitForCount(errors, before + 1, 15_000);
    const copies = await ann.waitForCount(
      (m) => (ids as string[]).includes(String(m.payload.message_id)),
      ids.length,
      15_000,
    );
    expect(new Set(copies.map((m) => m.payload.message_id)).size).toBe(ids.length);
    const { rows } = await stack.sql.query(
      'SELECT count(*)::int AS n FROM messages WHERE app_id = $1 AND message_id = ANY($2)',
      [stack.app, ids],
    );
    expect(rows[0].n).toBe(ids.length);
  });

  const oddShapes: [string, (me: string) => string][] = [
    ['an extra level', (me) => stack.topic('outgoing', 'users', me, 'messages', 'x', 'y', 'outgoing')],
    ['a missing level', (me) => stack.topic('outgoing', 'users', me, 'messages', 'outgoing')],
    ['an unknown last keyword', (me) => stack.topic('outgoing', 'users', me, 'messages', 'x', 'incoming')],
    [
      "a '.' inside the recipient level",
      (me) => stack.topic('outgoing', 'users', me, 'messages', 'x.y', 'outgoing'),
    ],
    ['an empty recipient level', (me) => stack.topic('outgoing', 'users', me, 'messages', '', 'outgoing')],
  ];
  it.each(oddShapes)(
    'own outgoing namespace, unknown shape: %s',
    { timeout: 40_000 },
    async (_name, topic) => {
      const refusal = await attack(topic('mallory'));
      // An empty level where an id goes is the id's fault (invalid_id); every other shape, the topic's.
      expect(['invalid_topic', 'invalid_id']).toContain(refusal.payload.code);
      expect(refusal.payload.message).toMatch(/\S/);
    },
  );
});

/**
 * An existing deployment: its router queues are classic queues named `<prefix>.<name>`, and one
 * holds a message. The new router neither fails on them (PRECONDITION_FAILED) nor loses that
 * message: it unbinds and drains the old queue.
 */
describe('upgrade from classic router queues (rabbitmq)', () => {
  const stack = new TestStack('topic-upgrade', {}, 'rabbitmq');
  const prefix = stack.config.router.queuePrefix;
  let connection: amqp.ChannelModel;

  beforeAll(async () => {
    const url = new URL(services().amqpUrl);
    connection = await amqp.connect({
      hostname: url.hostname,
      port: Number(url.port),
      username: 'upgrade-test',
      password: await signServiceToken(stack.config.jwt, 'upgrade-test', 600),
    });
  });
  afterAll(async () => {
    const channel = await connection.createChannel();
    await channel.deleteQueue(`${prefix}.messages`).catch(() => {});
    await connection.close().catch(() => {});
    await stack.close();
  });

  it('a message waiting in the old classic queue is delivered; the old queue gets nothing new', {
    timeout: 40_000,
  }, async () => {
    const channel = await connection.createConfirmChannel();
    const legacy = `${prefix}.messages`;
    const pattern = `apps.${stack.app}.outgoing.users.*.messages.*.outgoing`;
    await channel.assertQueue(legacy, { durable: true });
    await channel.bindQueue(legacy, 'amq.topic', pattern);
    const waiting = { text: 'sent before the upgrade', message_id: randomUUID() };
    channel.publish(
      'amq.topic',
      stack.outgoing('ann', 'ben').replaceAll('/', '.'),
      Buffer.from(JSON.stringify(waiting)),
    );
    await channel.waitForConfirms();

    const ben = await stack.client('ben');
    await stack.startRouter();
    await ben.waitFor((m) => m.payload.message_id === waiting.message_id, 15_000);

    const ann = await stack.client('ann');
    await ann.publish(stack.outgoing('ann', 'ben'), { text: 'after the upgrade' });
    await ben.waitFor((m) => m.payload.text === 'after the upgrade');
    const { messageCount } = await channel.checkQueue(legacy);
    expect(messageCount).toBe(0);
    const { rows } = await stack.sql.query('SELECT text FROM messages WHERE app_id = $1 ORDER BY seq', [
      stack.app,
    ]);
    expect(rows).toEqual([{ text: 'sent before the upgrade' }, { text: 'after the upgrade' }]);
  });
});

/**
 * What reaches the router through `<prefix>.redelivered` (what its queues gave up handing over)
 * must be as trustworthy as what reaches it through `amq.topic`: whoever writes a message there,
 * and whatever `x-death` header it carries, it is stored as its real sender's or not at all.
 * Seen before the fix: the router read the sender from `x-death`, which any AMQP publisher can
 * write, and the broker keeps a client's own `x-death` entry when it dead-letters the message.
 */
describe('a forged dead letter is not taken for another user’s message (rabbitmq)', () => {
  const stack = new TestStack('topic-forged', {}, 'rabbitmq');
  const prefix = stack.config.router.queuePrefix;
  let eve: TestClient;
  let ann: TestClient;
  const errors = (m: Received) => m.topic === stack.topic('users', 'eve', 'errors', 'clientadded');
  /** An `x-death` entry as the broker writes it, naming the victim's outgoing topic. */
  const forgedDeath = () => ({
    'x-death': [
      {
        count: 1,
        reason: 'delivery_limit',
        queue: routerQueueName(prefix, { name: 'messages' }),
        exchange: 'amq.topic',
        time: { '!': 'timestamp', value: Math.floor(Date.now() / 1000) },
        'routing-keys': [stack.outgoing('victim', 'ann').replaceAll('/', '.')],
      },
    ],
  });

  beforeAll(async () => {
    await stack.startRouter();
    [eve, ann] = await Promise.all([stack.client('eve'), stack.client('ann')]);
  });
  afterAll(() => stack.close());

  /** Eve's own AMQP connection to the broker's AMQP port, with the given scopes. */
  async function amqpAs(scope: string[]): Promise<amqp.ChannelModel> {
    const url = new URL(services().amqpUrl);
    const connection = await amqp.connect({
      hostname: url.hostname,
      port: Number(url.port),
      username: 'eve',
      password: await signToken({ sub: 'eve', scope }, services().jwtSecret),
    });
    connection.on('error', () => {});
    return connection;
  }

  /** Publishes on a channel of its own; whether the broker took it (a refusal closes the channel). */
  async function tryPublish(
    connection: amqp.ChannelModel,
    exchange: string,
    routingKey: string,
    payload: unknown,
    headers: Record<string, unknown>,
  ): Promise<boolean> {
    const channel = await connection.createConfirmChannel();
    channel.on('error', () => {});
    try {
      channel.publish(exchange, routingKey, Buffer.from(JSON.stringify(payload)), { headers });
      await channel.waitForConfirms();
      await channel.close();
      return true;
    } catch {
      return false;
    }
  }

  async function stored(messageId: string): Promise<{ sender: string; recipient: string }[]> {
    const { rows } = await stack.sql.query(
      'SELECT sender, recipient FROM messages WHERE app_id = $1 AND message_id = $2',
      [stack.app, messageId],
    );
    return rows;
  }

  it('written straight into <prefix>.redelivered with a Chat21 token: never stored as the victim’s', {
    timeout: 40_000,
  }, async () => {
    // Chat21's scopes grant write on every exchange; RabbitMQ checks routing keys on topic
    // exchanges only. The keys: the one the broker's dead letters carried, and the victim's topic.
    const connection = await amqpAs(chat21UserScopes(stack.app, 'eve'));
    const ids: string[] = [];
    try {
      for (const routingKey of ['redelivered', stack.outgoing('victim', 'ann').replaceAll('/', '.')]) {
        const id = randomUUID();
        ids.push(id);
        await tryPublish(
          connection,
          redeliveredName(prefix),
          routingKey,
          { text: 'forged', message_id: id },
          forgedDeath(),
        );
      }
    } finally {
      await connection.close().catch(() => {});
    }
    // A genuine over-long topic goes the same way after them: once eve is told about it, what
    // she wrote there before was handled.
    const before = eve.received.filter(errors).length;
    await eve.publish(stack.outgoing('eve', 'z'.repeat(300)), { text: 'long' });
    await eve.waitForCount(errors, before + 1, 20_000);
    for (const id of ids) expect(await stored(id)).toEqual([]);
    expect(ann.received.filter((m) => ids.includes(String(m.payload.message_id)))).toEqual([]);
  });

  it('her own message with a forged x-death, dead-lettered by the broker: stored as hers (Mercurio token)', {
    timeout: 40_000,
  }, async () => {
    // Mercurio's own scopes: amq.topic only, her own routing keys, any headers. The over-long
    // topics around it close the router's connection while it is in flight, twice, so the broker
    // dead-letters it, and keeps her x-death entry (same queue, same reason) with a count of 2.
    const connection = await amqpAs(userScopes(stack.app, 'eve'));
    const id = randomUUID();
    const before = eve.received.filter(errors).length;
    try {
      await eve.publish(stack.outgoing('eve', 'a'.repeat(300)), { text: 'long 1' });
      const took = await tryPublish(
        connection,
        'amq.topic',
        stack.outgoing('eve', 'ann').replaceAll('/', '.'),
        { text: 'forged', message_id: id },
        forgedDeath(),
      );
      expect(took, 'the broker takes her publish on her own topic').toBe(true);
      await eve.publish(stack.outgoing('eve', 'b'.repeat(300)), { text: 'long 2' });
    } finally {
      await connection.close().catch(() => {});
    }
    await eve.waitForCount(errors, before + 2, 30_000);
    const copy = await ann.waitFor((m) => m.payload.message_id === id, 20_000);
    expect(copy.payload.sender).toBe('eve');
    expect(await stored(id)).toEqual([{ sender: 'eve', recipient: 'ann' }]);
  });
});
