import { randomUUID } from 'node:crypto';
import { setTimeout as sleep } from 'node:timers/promises';
import { formatTopic, inboxPattern, parseTopic, type TopicKind } from '@mercurio/protocol';
import type { IClientOptions } from 'mqtt';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { signUserToken } from '../src/auth/tokens.js';
import type { ConsumerSpec, InboundMessage } from '../src/bus/bus.js';
import { type BrokerUnderTest, embeddedBroker, rabbitBroker } from './support/brokers.js';
import { TestClient } from './support/mqtt-client.js';

/** Resolves once `condition` holds, polling. */
async function until(condition: () => boolean, what: string, timeoutMs = 10_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!condition()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await sleep(10);
  }
}

/** A promise with its resolver, to hold handlers until the test lets them go. */
function latch(): { promise: Promise<void>; open: () => void } {
  let open!: () => void;
  const promise = new Promise<void>((resolve) => {
    open = resolve;
  });
  return { promise, open };
}

/**
 * The Bus contract: what the router relies on, run against every implementation with real MQTT
 * clients and real tokens.
 */
function busContract(name: string, start: () => Promise<BrokerUnderTest>): void {
  describe(`Bus contract: ${name}`, () => {
    let broker: BrokerUnderTest;
    let app: string;
    let clients: TestClient[];

    beforeEach(async () => {
      broker = await start();
      app = `bus-${randomUUID().slice(0, 8)}`;
      clients = [];
    });

    afterEach(async () => {
      // end() skips clients that saw a close (they may be reconnecting): stop those directly.
      await Promise.allSettled(clients.map((client) => client.mqtt.endAsync(true)));
      await broker.close();
    });

    const token = (user: string, appId = app) =>
      signUserToken(broker.jwt, { app: appId, user, ttlSeconds: 600 });

    const connect = async (user: string, options: IClientOptions & { appId?: string } = {}) => {
      const { appId = app, ...mqttOptions } = options;
      const client = await TestClient.connect(broker.urls.tcp, await token(user, appId), {
        clientId: `${user}-${randomUUID().slice(0, 8)}`,
        ...mqttOptions,
      });
      clients.push(client);
      return client;
    };

    const spec = (specName: string, kinds: TopicKind[], extra: Partial<ConsumerSpec> = {}): ConsumerSpec => ({
      name: specName,
      kinds,
      app,
      prefetch: 10,
      ...extra,
    });

    const outgoing = (sender: string, recipient: string, appId = app) =>
      formatTopic({ kind: 'outgoing', app: appId, user: sender, recipient }, 'mqtt');

    const kindOf = (message: InboundMessage) => {
      const parsed = parseTopic(message.topic, message.form);
      return parsed.ok ? parsed.topic.kind : undefined;
    };

    it('consumes what a client publishes on its kinds and app only', async () => {
      const got: InboundMessage[] = [];
      await broker.bus.consume(spec('messages', ['outgoing']), async (message) => {
        got.push(message);
      });
      const alice = await connect('alice');
      const stranger = await connect('alice', { appId: `${app}-other` });

      await alice.publish(outgoing('alice', 'bob'), { text: 'first' });
      await alice.publish(formatTopic({ kind: 'presence', app, user: 'alice', clientId: 'c1' }, 'mqtt'), {
        connected: true,
      });
      await stranger.publish(outgoing('alice', 'bob', `${app}-other`), { text: 'other app' });
      // The right shape with an invalid id is still consumed: the router answers it with an error.
      await alice.publish(`apps/${app}/outgoing/users/alice/messages/b o b/outgoing`, { text: 'bad id' });
      await alice.publish(outgoing('alice', 'carol'), { text: 'last' });

      await until(() => got.length >= 3, 'three messages');
      await sleep(300);
      expect(got.map((message) => JSON.parse(message.body.toString()).text)).toEqual([
        'first',
        'bad id',
        'last',
      ]);
      const first = got[0]!;
      expect(kindOf(first)).toBe('outgoing');
      expect(parseTopic(first.topic, first.form)).toMatchObject({
        ok: true,
        topic: { app, user: 'alice', recipient: 'bob' },
      });
      expect(first.redelivered).toBe(false);
    });

    it('publishes each event to subscribed clients with the exact payload, over TCP and WebSocket', async () => {
      const viaTcp = await connect('bob');
      await viaTcp.subscribe(inboxPattern(app, 'bob', 'mqtt'));
      const viaWs = await TestClient.connect(broker.urls.ws, await token('bob'), {
        clientId: `bob-ws-${randomUUID().slice(0, 8)}`,
      });
      clients.push(viaWs);
      await viaWs.subscribe(inboxPattern(app, 'bob', 'mqtt'));

      const payload = { text: 'héllo ✓', n: 1, nested: { list: [1, null, 'x'] } };
      const topic = { kind: 'messageAdded', app, user: 'bob', conversWith: 'alice' } as const;
      await broker.bus.publish([
        { topic, payload },
        { topic: { kind: 'messageAdded', app, user: 'zed', conversWith: 'alice' }, payload: { not: 'bob' } },
      ]);

      for (const client of [viaTcp, viaWs]) {
        const received = await client.waitFor((message) => message.topic === formatTopic(topic, 'mqtt'));
        expect(received.raw.toString('utf8')).toBe(JSON.stringify(payload));
      }
      await sleep(200);
      expect(viaTcp.received).toHaveLength(1);
      expect(viaWs.received).toHaveLength(1);
    });

    it('redelivers a message whose handler failed, until it is handled and acknowledged', async () => {
      const got: InboundMessage[] = [];
      await broker.bus.consume(spec('messages', ['outgoing']), async (message) => {
        got.push(message);
        if (got.length === 1) throw new Error('store unavailable');
      });
      // The embedded broker disconnects the client without a PUBACK: the client's resend after
      // reconnecting is the redelivery. RabbitMQ acknowledged it at once and redelivers from its queue.
      const alice = await connect('alice', { reconnectPeriod: 100 });
      await alice.publish(outgoing('alice', 'bob'), { text: 'again' });

      await until(() => got.length >= 2, 'the redelivery');
      await sleep(300);
      expect(got).toHaveLength(2);
      expect(got[1]!.body.toString()).toBe(got[0]!.body.toString());
      expect(got[1]!.topic).toBe(got[0]!.topic);
      expect(got[1]!.redelivered).toBe(true);
    });

    it('redelivers an inbound kind published by a service until its handler succeeds', async () => {
      const got: InboundMessage[] = [];
      await broker.bus.consume(spec('services', ['groupsUpdate', 'historyDelivery']), async (message) => {
        got.push(message);
        if (got.length === 1) throw new Error('store unavailable');
      });
      const payload = { group: { uid: 'g1' }, notify_to: { alice: 1 } };
      await broker.bus.publish([{ topic: { kind: 'groupsUpdate', app }, payload }]);

      await until(() => got.length >= 2, 'the redelivery');
      await sleep(300);
      expect(got).toHaveLength(2);
      expect(got.map(kindOf)).toEqual(['groupsUpdate', 'groupsUpdate']);
      expect(JSON.parse(got[1]!.body.toString())).toEqual(payload);
      expect(got[1]!.redelivered).toBe(true);
    });

    it('keeps at most `prefetch` handlers in flight', async () => {
      const release = latch();
      let active = 0;
      let maxActive = 0;
      let done = 0;
      await broker.bus.consume(spec('messages', ['outgoing'], { prefetch: 2 }), async () => {
        active++;
        maxActive = Math.max(maxActive, active);
        await release.promise;
        active--;
        done++;
      });
      const alice = await connect('alice');
      const published = Array.from({ length: 5 }, (_, i) =>
        alice.publish(outgoing('alice', `bob${i}`), { text: `m${i}` }),
      );

      await until(() => active === 2, 'two handlers in flight');
      await sleep(300);
      expect(maxActive).toBe(2);
      release.open();
      await until(() => done === 5, 'all five handled');
      await Promise.all(published);
      expect(maxActive).toBe(2);
    });

    it('hands a last will to its consumer', async () => {
      const got: InboundMessage[] = [];
      await broker.bus.consume(spec('presence', ['presence']), async (message) => {
        got.push(message);
      });
      const presence = formatTopic({ kind: 'presence', app, user: 'dave', clientId: 'tab1' }, 'mqtt');
      const dave = await connect('dave', {
        will: { topic: presence, payload: Buffer.from('{"disconnected":true}'), qos: 1, retain: false },
      });
      await dave.publish(presence, { connected: true });
      await until(() => got.length === 1, 'the connected message');
      dave.mqtt.stream.destroy(); // an abrupt close: the broker sends the will

      await until(() => got.length === 2, 'the will');
      expect(parseTopic(got[1]!.topic, got[1]!.form)).toEqual(parseTopic(presence, 'mqtt'));
      expect(JSON.parse(got[1]!.body.toString())).toEqual({ disconnected: true });
    });

    it('keeps events for an offline client with a persistent session', async () => {
      const clientId = `erin-${randomUUID().slice(0, 8)}`;
      const first = await connect('erin', { clientId, clean: false });
      await first.subscribe(inboxPattern(app, 'erin', 'mqtt'), 1);
      await first.end();

      const topic = { kind: 'messageAdded', app, user: 'erin', conversWith: 'alice' } as const;
      await broker.bus.publish([{ topic, payload: { text: 'while you were away' } }]);

      const again = await connect('erin', { clientId, clean: false });
      const received = await again.waitFor((message) => message.topic === formatTopic(topic, 'mqtt'));
      expect(received.payload).toEqual({ text: 'while you were away' });
      // End the session so the broker forgets it.
      await again.end();
      await (await connect('erin', { clientId, clean: true })).end();
    });

    it('close lets the handlers in flight finish', async () => {
      const release = latch();
      let started = false;
      let finished = false;
      await broker.bus.consume(spec('messages', ['outgoing']), async () => {
        started = true;
        await release.promise;
        await sleep(50);
        finished = true;
      });
      const alice = await connect('alice');
      const published = alice.publish(outgoing('alice', 'bob'), { text: 'in flight' });
      await until(() => started, 'the handler to start');

      let closed = false;
      const closing = broker.bus.close().then(() => {
        closed = true;
      });
      await sleep(200);
      expect(closed).toBe(false);
      release.open();
      await closing;
      expect(finished).toBe(true);
      // Acknowledged to the client before the broker went away (RabbitMQ acknowledged it at once).
      await published;
    });
  });
}

busContract('RabbitMQ (RabbitBus)', () => rabbitBroker());
busContract('embedded (Aedes)', () => embeddedBroker());
