import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Received, TestClient } from './support/mqtt-client.js';
import { ENGINES, TestStack } from './support/stack.js';

describe.each(ENGINES)('presence and typing (%s)', (engine) => {
  const stack = new TestStack('presence', {}, engine);
  let pia: TestClient;
  let quinn: TestClient;

  const presenceOf = (watcher: string, user: string) => (m: Received) =>
    m.topic === stack.topic('users', watcher, 'presence', user, 'clientupdated');

  /** A Chat21 client: announces itself on connect and leaves a last will. */
  async function chat21Client(user: string, clientId: string) {
    const topic = stack.topic('users', user, 'presence', clientId);
    const client = await stack.client(user, {
      clientId,
      will: { topic, payload: Buffer.from(JSON.stringify({ disconnected: true })), qos: 1, retain: false },
    });
    await client.publish(topic, { connected: true });
    return client;
  }

  /** Drops the connection without DISCONNECT, as a crashed app or a lost network would. */
  function drop(client: TestClient) {
    client.mqtt.stream.destroy();
  }

  beforeAll(async () => {
    await stack.startRouter();
    pia = await stack.client('pia');
    quinn = await stack.client('quinn');
    // A direct conversation makes them peers.
    await pia.publish(stack.outgoing('pia', 'rob'), { text: 'hi rob' });
    await pia.publish(stack.outgoing('pia', 'quinn'), { text: 'hi quinn' });
    await quinn.waitFor((m) => m.payload.text === 'hi quinn');
  });
  afterAll(() => stack.close());

  it('peers see a user go online, stay online while any client is connected, and go offline with the last will', async () => {
    const phone = await chat21Client('rob', 'rob-phone');
    const online = await pia.waitFor(presenceOf('pia', 'rob'));
    expect(online.payload).toMatchObject({ user_id: 'rob', status: 'online' });

    const laptop = await chat21Client('rob', 'rob-laptop');
    drop(phone);
    // still online through the laptop: no offline event; the store agrees
    await stack.router!.store.getPresence(stack.app, ['rob']);
    await new Promise((resolve) => setTimeout(resolve, 500));
    expect(pia.received.filter(presenceOf('pia', 'rob')).map((m) => m.payload.status)).toEqual(['online']);
    drop(laptop);
    const offline = await pia.waitFor((m) => presenceOf('pia', 'rob')(m) && m.payload.status === 'offline');
    expect(typeof offline.payload.last_online).toBe('number');
    expect(await stack.router!.store.getPresence(stack.app, ['rob', 'never-seen'])).toEqual([
      { user: 'rob', status: 'offline', lastOnline: expect.any(Number) },
      { user: 'never-seen', status: 'offline', lastOnline: null },
    ]);
    // quinn never talked to rob: told nothing
    expect(quinn.received.some((m) => m.topic.includes('/presence/rob/'))).toBe(false);
  });

  it('typing is passed to the other party and never stored', async () => {
    await pia.publish(stack.topic('users', 'pia', 'typing', 'quinn'), {
      typing: true,
      writer_fullname: 'Pia',
    });
    const typing = await quinn.waitFor(
      (m) => m.topic === stack.topic('users', 'quinn', 'typing', 'pia', 'clientupdated'),
    );
    expect(typing.payload).toMatchObject({
      writer_id: 'pia',
      // The client's writer_fullname is not trusted: pia has no profile, so her id is her name.
      writer_fullname: 'pia',
      conversWith: 'pia',
      typing: true,
    });
    const { rows } = await stack.sql.query('SELECT count(*)::int AS n FROM messages WHERE app_id = $1', [
      stack.app,
    ]);
    expect(rows[0].n).toBe(2);
  });

  it('typing in a group reaches the other members only', async () => {
    await stack.createGroup('duo', 'pia', ['pia', 'quinn']);
    await quinn.publish(stack.topic('users', 'quinn', 'typing', 'duo'), {});
    const typing = await pia.waitFor(
      (m) => m.topic === stack.topic('users', 'pia', 'typing', 'duo', 'clientupdated'),
    );
    expect(typing.payload).toMatchObject({ writer_id: 'quinn', conversWith: 'duo', typing: true });
    expect(quinn.received.some((m) => m.topic.includes('/typing/duo/'))).toBe(false);
  });
});
