import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { signServiceToken } from '../src/auth/tokens.js';
import { TestClient } from './support/mqtt-client.js';
import { ENGINES, TestStack } from './support/stack.js';

const MiB = 1024 * 1024;
/** Refused at CONNECT: the CONNACK code's text (TCP) or a socket closed before it (RabbitMQ Web-MQTT). */
const IDENTIFIER_REJECTED = /Identifier rejected|closed before CONNACK/i;
const NOT_AUTHORIZED = /Not authorized|closed before CONNACK/i;

/**
 * The audit's attacks on the broker layer: a client that subscribes and stops reading, oversized
 * and retained packets, another user's client id, an expired token kept open, and one user
 * opening connections without end. Each test is the attack; the victim's view is checked.
 */
describe.each(ENGINES)('broker abuse (%s)', (engine) => {
  const stack = new TestStack(
    'abuse',
    {
      // Large messages make a flood of tens of MB out of few messages.
      MERCURIO_MAX_PAYLOAD_BYTES: String(MiB),
      MERCURIO_MQTT_MAX_OUTGOING_BYTES: String(MiB),
      MERCURIO_MQTT_MAX_CONNECTIONS_PER_USER: '3',
    },
    engine,
  );
  const addedFor = (user: string, peer: string) => (m: { topic: string }) =>
    m.topic === stack.topic('users', user, 'messages', peer, 'clientadded');

  beforeAll(async () => {
    await stack.startRouter();
  });
  afterAll(() => stack.close());

  it('a client that stops reading while tens of MB are sent to it does not delay anyone else', async () => {
    const alice = await stack.client('alice');
    const bob = await stack.client('bob', { transport: 'tcp' });
    // The stuck client: subscribed at QoS 1, then it never reads its socket again (no pings either).
    const stuck = await stack.client('stuck', { transport: 'tcp', keepalive: 0 });
    stuck.mqtt.stream.pause();
    const mallory = await stack.client('mallory', { subscribe: false });

    // The flood goes on while two other users chat: each of their messages arrives promptly.
    const flood = 24;
    const text = 'x'.repeat(MiB - 4096);
    const flooding = Promise.all(
      Array.from({ length: flood }, () =>
        mallory.publish(stack.outgoing('mallory', 'stuck'), { text, type: 'text' }),
      ),
    );
    let flooded = false;
    void flooding.then(() => {
      flooded = true;
    });
    const latencies: number[] = [];
    // For as long as the flood lasts (the stuck client's buffers fill up somewhere in it).
    for (let i = 0; i < 5 || !flooded; i++) {
      const sentAt = Date.now();
      await alice.publish(stack.outgoing('alice', 'bob'), { text: `still here ${i}`, type: 'text' });
      await bob.waitFor((m) => addedFor('bob', 'alice')(m) && m.payload.text === `still here ${i}`, 90_000);
      latencies.push(Date.now() - sentAt);
    }
    await flooding;
    expect(Math.max(...latencies)).toBeLessThan(5000);

    if (engine === 'embedded') {
      // It was disconnected once 1 MiB waited for it: reading again, it sees the end of the stream.
      stuck.mqtt.stream.resume();
      await stuck.waitForClose(10_000);
      expect(stuck.received.filter(addedFor('stuck', 'mallory')).length).toBeLessThan(flood);
    }
  }, 120_000);

  it.runIf(engine === 'embedded')(
    'a packet above the limit closes the connection over TCP and WebSocket, before anything is routed',
    async () => {
      const bob = await stack.client('bob2');
      for (const transport of ['tcp', 'ws'] as const) {
        const mallory = await stack.client('mallory', { transport, subscribe: false });
        // The router's payload limit (1 MiB here) plus more than a topic's worth of headroom.
        const text = 'y'.repeat(MiB + 70 * 1024);
        mallory.publish(stack.outgoing('mallory', 'bob2'), { text, type: 'text' }).catch(() => {});
        await mallory.waitForClose(10_000);
      }
      await stack
        .client('alice2', { subscribe: false })
        .then((alice) =>
          alice.publish(stack.outgoing('alice2', 'bob2'), { text: 'after the big ones', type: 'text' }),
        );
      await bob.waitFor(addedFor('bob2', 'alice2'));
      expect(bob.received.filter(addedFor('bob2', 'mallory'))).toEqual([]);
    },
    60_000,
  );

  it.runIf(engine === 'embedded')(
    'a retained publish in the user’s own namespace is refused and nothing is kept',
    async () => {
      const mallory = await stack.client('mallory', { subscribe: false });
      const topic = stack.outgoing('mallory', 'anyone');
      mallory.mqtt.publish(topic, Buffer.alloc(50_000, 'r'), { qos: 1, retain: true });
      await mallory.waitForClose();
      // A later subscriber of that topic (a service may read it) gets no retained message: the
      // marker published after the subscription arrives alone.
      const service = await TestClient.connect(
        stack.router!.mqtt!.tcpUrl,
        await signServiceToken(stack.config.jwt, 'auditor', 3600),
        { clientId: `auditor-${randomUUID().slice(0, 8)}` },
      );
      try {
        const marker = stack.topic('audit', 'marker');
        await service.subscribe(topic);
        await service.subscribe(marker);
        await service.publish(marker, 'marker');
        await service.waitFor((m) => m.raw.toString() === 'marker');
        expect(service.received.map((m) => m.raw.toString())).toEqual(['marker']);
      } finally {
        await service.end();
      }
    },
  );

  it.runIf(engine === 'embedded')(
    'another user’s client id is refused at CONNECT; the owner keeps its connection and session',
    async () => {
      const clientId = `victim-${randomUUID().slice(0, 8)}`;
      const victim = await stack.client('victim', { clientId, clean: false });
      await expect(stack.client('mallory', { clientId, clean: true, subscribe: false })).rejects.toThrow(
        IDENTIFIER_REJECTED,
      );
      expect(victim.closed).toBe(false);

      // Offline, its stored session stays its own: messages sent meanwhile wait for it.
      await victim.end();
      await expect(stack.client('mallory', { clientId, clean: true, subscribe: false })).rejects.toThrow(
        IDENTIFIER_REJECTED,
      );
      const alice = await stack.client('alice3', { subscribe: false });
      await alice.publish(stack.outgoing('alice3', 'victim'), { text: 'while you were away', type: 'text' });
      // The same user takes the id over, as MQTT says, and gets what waited.
      const back = await stack.client('victim', { clientId, clean: false, subscribe: false });
      await back.waitFor((m) => addedFor('victim', 'alice3')(m) && m.payload.text === 'while you were away');
    },
  );

  it.runIf(engine === 'embedded')('a connection is closed when its token expires', async () => {
    const token = await stack.token('shortlived', 2);
    const client = await TestClient.connect(stack.router!.mqtt!.tcpUrl, token, {
      clientId: `shortlived-${randomUUID().slice(0, 8)}`,
    });
    try {
      await client.subscribe(stack.topic('users', 'shortlived', '#'));
      await client.waitForClose(5000);
    } finally {
      await client.end();
    }
  });

  it.runIf(engine === 'embedded')(
    'one user’s connections beyond the limit are refused at CONNECT; other users are not affected',
    async () => {
      const open: TestClient[] = [];
      for (let i = 0; i < 3; i++) open.push(await stack.client('greedy', { subscribe: false }));
      await expect(stack.client('greedy', { subscribe: false })).rejects.toThrow(NOT_AUTHORIZED);
      await expect(stack.client('greedy', { subscribe: false, transport: 'tcp' })).rejects.toThrow(
        NOT_AUTHORIZED,
      );
      await stack.client('modest', { subscribe: false });
      // Reconnecting with one of its own ids is a takeover, not one more connection.
      await stack.client('greedy', { subscribe: false, clientId: open[1]!.mqtt.options.clientId! });
      // A closed connection frees its place.
      await open[0]!.end();
      await stack.client('greedy', { subscribe: false });
    },
  );
});
