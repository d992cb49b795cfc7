import { randomUUID } from 'node:crypto';
import type { FastifyInstance } from 'fastify';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Received, TestClient } from './support/mqtt-client.js';
import { seedMessage } from './support/seed.js';
import { ENGINES, TestStack } from './support/stack.js';

describe.each(ENGINES)('blocking and muting (%s)', (engine) => {
  const stack = new TestStack(
    'blocking',
    {
      MERCURIO_RETENTION_INTERVAL_MS: '0',
      // Webhook events kept in the outbox (never delivered), to read what a push service would get.
      MERCURIO_WEBHOOKS: JSON.stringify([{ url: 'http://127.0.0.1:9/hook' }]),
      MERCURIO_WEBHOOK_SECRET: 'w'.repeat(40),
      MERCURIO_WEBHOOK_RETRY_BASE_MS: '3600000',
      MERCURIO_WEBHOOK_RETRY_MAX_MS: '3600000',
    },
    engine,
  );
  let api: FastifyInstance;
  let alice: TestClient;
  let mallory: TestClient;
  let carol: TestClient;
  const tokens: Record<string, string> = {};

  const call = (who: string, method: 'GET' | 'PUT' | 'DELETE' | 'POST', path: string, body?: unknown) =>
    api.inject({
      method,
      url: path.startsWith('/v1') ? `/api${path.replace('{app}', stack.app)}` : `/api/${stack.app}${path}`,
      headers: {
        authorization: `Bearer ${tokens[who]}`,
        ...(body === undefined ? {} : { 'content-type': 'application/json' }),
      },
      ...(body === undefined ? {} : { payload: JSON.stringify(body) }),
    });
  const errorOf = (user: string) => (m: Received) =>
    m.topic === stack.topic('users', user, 'errors', 'clientadded');
  const added = (user: string, peer: string) => (m: Received) =>
    m.topic === stack.topic('users', user, 'messages', peer, 'clientadded');
  const stored = async (text: string) =>
    (await stack.sql.query('SELECT 1 FROM messages WHERE app_id = $1 AND text = $2', [stack.app, text])).rows
      .length;
  const unread = async (owner: string, peer: string) =>
    (
      await stack.sql.query<{ unread_count: number; muted: boolean }>(
        'SELECT unread_count, muted FROM conversations WHERE app_id = $1 AND owner = $2 AND convers_with = $3',
        [stack.app, owner, peer],
      )
    ).rows[0];

  beforeAll(async () => {
    await stack.startRouter();
    api = await stack.http();
    for (const user of ['alice', 'mallory', 'carol']) tokens[user] = await stack.token(user);
    tokens.admin = await stack.adminToken();
    [alice, mallory, carol] = await Promise.all([
      stack.client('alice'),
      stack.client('mallory'),
      stack.client('carol'),
    ]);
    // They talked before: direct peers (presence goes to peers).
    const store = stack.router!.store;
    await seedMessage(store, stack.app, { sender: 'mallory', recipient: 'alice', text: 'before' });
    await seedMessage(store, stack.app, { sender: 'mallory', recipient: 'carol', text: 'before' });
    await seedMessage(store, stack.app, { sender: 'carol', recipient: 'alice', text: 'before' });
  });
  afterAll(() => stack.close());

  it('a block stops direct messages both ways: the sender gets user_blocked, nothing is stored or delivered', async () => {
    expect((await call('alice', 'PUT', '/v1/apps/{app}/users/alice/blocks/mallory')).statusCode).toBe(200);
    // Repeating it is harmless.
    expect(
      (await call('alice', 'PUT', '/v1/apps/{app}/users/alice/blocks/mallory')).json().result.created,
    ).toBe(false);

    const blockedId = randomUUID();
    await mallory.publish(stack.outgoing('mallory', 'alice'), {
      text: 'blocked-1',
      type: 'text',
      message_id: blockedId,
    });
    const error = await mallory.waitFor(errorOf('mallory'));
    expect(error.payload).toMatchObject({ code: 'user_blocked', message_id: blockedId });
    await alice.publish(stack.outgoing('alice', 'mallory'), { text: 'blocked-2', type: 'text' });
    expect((await alice.waitFor(errorOf('alice'))).payload).toMatchObject({ code: 'user_blocked' });
    // Others are served as usual meanwhile; what was refused never arrived nor was stored.
    await mallory.publish(stack.outgoing('mallory', 'carol'), { text: 'to carol', type: 'text' });
    await carol.waitFor(added('carol', 'mallory'));
    expect(alice.received.filter(added('alice', 'mallory'))).toEqual([]);
    expect(mallory.received.filter((m) => m.payload?.text === 'blocked-2')).toEqual([]);
    expect(await stored('blocked-1')).toBe(0);
    expect(await stored('blocked-2')).toBe(0);

    const http = await call('mallory', 'POST', '/messages', {
      recipient_id: 'alice',
      text: 'blocked-3',
      sender_fullname: 'M',
      recipient_fullname: 'A',
    });
    expect(http.statusCode).toBe(403);
    expect(http.headers['x-mercurio-error-code'] ?? http.body).toContain('user_blocked');
    expect(await stored('blocked-3')).toBe(0);
    expect((await call('alice', 'GET', '/v1/apps/{app}/users/alice/blocks')).json().result).toEqual([
      { user_id: 'mallory', since: expect.any(Number) },
    ]);
  });

  it('leaks no presence or typing across a block', async () => {
    // Mallory comes online and types to alice: carol (a peer, not blocked) hears, alice does not.
    const presence = stack.topic('users', 'mallory', 'presence', 'm-2');
    const second = await stack.client('mallory', { clientId: 'm-2' });
    await second.publish(presence, { connected: true });
    await mallory.publish(stack.topic('users', 'mallory', 'typing', 'alice'), { typing: true });
    await mallory.publish(stack.topic('users', 'mallory', 'typing', 'carol'), { typing: true });
    await carol.waitFor(
      (m) => m.topic === stack.topic('users', 'carol', 'presence', 'mallory', 'clientupdated'),
    );
    await carol.waitFor(
      (m) => m.topic === stack.topic('users', 'carol', 'typing', 'mallory', 'clientupdated'),
    );
    // Alice's own presence change still reaches carol, and mallory hears nothing of alice's.
    await alice.publish(stack.topic('users', 'alice', 'presence', 'a-1'), { connected: true });
    await carol.waitFor(
      (m) => m.topic === stack.topic('users', 'carol', 'presence', 'alice', 'clientupdated'),
    );
    const leaked = (client: TestClient, user: string, other: string) =>
      client.received.filter(
        (m) =>
          m.topic === stack.topic('users', user, 'presence', other, 'clientupdated') ||
          m.topic === stack.topic('users', user, 'typing', other, 'clientupdated'),
      );
    expect(leaked(alice, 'alice', 'mallory')).toEqual([]);
    expect(leaked(mallory, 'mallory', 'alice')).toEqual([]);
    // Over HTTP too: mallory looks offline to alice, and alice to mallory; an admin sees the truth.
    const seen = await call('alice', 'GET', '/v1/apps/{app}/presence?users=mallory,carol');
    expect(seen.json().result).toContainEqual({ user_id: 'mallory', status: 'offline', last_online: null });
    const admin = await call('admin', 'GET', '/v1/apps/{app}/presence?users=mallory');
    expect(admin.json().result[0].status).toBe('online');
  });

  it('blocks and unblocks over MQTT; an attacker cannot lift another user’s block', async () => {
    expect((await call('mallory', 'DELETE', '/v1/apps/{app}/users/alice/blocks/mallory')).statusCode).toBe(
      403,
    );
    expect((await call('mallory', 'PUT', '/v1/apps/{app}/users/mallory/blocks/mallory')).statusCode).toBe(
      400,
    );
    const update = (user: string, peer: string) =>
      stack.topic('users', user, 'conversations', peer, 'update');
    await alice.publish(update('alice', 'mallory'), { blocked: false });
    await alice.waitFor(
      (m) =>
        m.topic === stack.topic('users', 'alice', 'conversations', 'mallory', 'clientupdated') &&
        m.payload.blocked === false,
    );
    await mallory.publish(stack.outgoing('mallory', 'alice'), { text: 'after unblock', type: 'text' });
    await alice.waitFor((m) => added('alice', 'mallory')(m) && m.payload.text === 'after unblock');
    // Carol blocks mallory, who never wrote to her through MQTT before: allowed, no echo needed.
    await carol.publish(update('carol', 'nobody'), { blocked: true });
    await carol.publish(update('carol', 'group-x'), { blocked: true });
    expect((await carol.waitFor(errorOf('carol'))).payload).toMatchObject({ code: 'invalid_payload' });
    expect((await call('carol', 'GET', '/v1/apps/{app}/users/carol/blocks')).json().result).toEqual([
      { user_id: 'nobody', since: expect.any(Number) },
    ]);
  });

  it('a muted conversation gets no unread bump; unmuted, it counts again', async () => {
    const before = (await unread('alice', 'carol'))!.unread_count;
    await alice.publish(stack.topic('users', 'alice', 'conversations', 'carol', 'update'), { muted: true });
    const echo = await alice.waitFor(
      (m) =>
        m.topic === stack.topic('users', 'alice', 'conversations', 'carol', 'clientupdated') &&
        m.payload.muted === true,
    );
    expect(echo.payload.unread_count).toBe(before);
    await carol.publish(stack.outgoing('carol', 'alice'), { text: 'while muted', type: 'text' });
    await alice.waitFor((m) => added('alice', 'carol')(m) && m.payload.text === 'while muted');
    expect(await unread('alice', 'carol')).toEqual({ unread_count: before, muted: true });
    // "No push": the conversation entry and alice's message-delivered webhook event say muted.
    const list = await call('alice', 'GET', '/alice/conversations');
    expect(list.json().result.find((c: { conversWith: string }) => c.conversWith === 'carol')).toMatchObject({
      muted: true,
      unread_count: before,
    });
    const delivered = async (text: string) =>
      (
        await stack.sql.query<{ payload: { muted?: boolean; delivered_to: string } }>(
          `SELECT payload FROM webhook_outbox WHERE app_id = $1 AND event_type = 'message-delivered'
             AND payload->'data'->>'text' = $2`,
          [stack.app, text],
        )
      ).rows.map((r) => r.payload);
    expect(await delivered('while muted')).toEqual([
      expect.objectContaining({ delivered_to: 'alice', muted: true }),
    ]);

    const unmute = await call('alice', 'PUT', '/v1/apps/{app}/users/alice/conversations/carol/muted', {
      muted: false,
    });
    expect(unmute.json().result).toEqual({ conversWith: 'carol', muted: false });
    await carol.publish(stack.outgoing('carol', 'alice'), { text: 'unmuted', type: 'text' });
    await alice.waitFor((m) => added('alice', 'carol')(m) && m.payload.text === 'unmuted');
    expect(await unread('alice', 'carol')).toEqual({ unread_count: before + 1, muted: false });
    expect((await delivered('unmuted'))[0]?.muted).toBeUndefined();

    expect(
      (await call('mallory', 'PUT', '/v1/apps/{app}/users/alice/conversations/carol/muted', { muted: true }))
        .statusCode,
    ).toBe(403);
    const missing = await call('alice', 'PUT', '/v1/apps/{app}/users/alice/conversations/zed/muted', {
      muted: true,
    });
    expect(missing.statusCode).toBe(404);
    expect(missing.json().err.code).toBe('conversation_not_found');
    expect(
      (await call('alice', 'PUT', '/v1/apps/{app}/users/alice/conversations/carol/muted', { muted: 'yes' }))
        .statusCode,
    ).toBe(400);
  });
});
