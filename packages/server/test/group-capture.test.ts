/**
 * Audit hole 1: a group whose id is a user's id captured that user's direct conversations.
 * Written as the attack: mal tries to create a group named after bob (inline and over HTTP);
 * where such a group exists anyway (data from before the fix), carol's and dave's direct
 * messages to bob still reach bob alone.
 */
import type { FastifyInstance } from 'fastify';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parseCommand } from '../src/cli.js';
import { callApi } from './support/http-call.js';
import type { Received, TestClient } from './support/mqtt-client.js';
import { ENGINES, TestStack } from './support/stack.js';

describe.each(ENGINES)('no group captures a direct conversation (%s)', (engine) => {
  const stack = new TestStack('capture', {}, engine);
  let api: FastifyInstance;
  const clients: Record<string, TestClient> = {};
  const tokens: Record<string, string> = {};

  const added = (owner: string, conversWith: string, text: string) => (m: Received) =>
    m.topic === stack.topic('users', owner, 'messages', conversWith, 'clientadded') &&
    m.payload.text === text;
  const errorCode = (user: string, code: string) => (m: Received) =>
    m.topic === stack.topic('users', user, 'errors', 'clientadded') && m.payload.code === code;
  const call = (user: string, method: 'GET' | 'POST', path: string, payload?: unknown) =>
    callApi(api, tokens[user]!, method, `/api/${stack.app}${path}`, payload);
  const groupRows = async (uid: string) =>
    (
      await stack.sql.query('SELECT group_id FROM groups WHERE app_id = $1 AND group_id = $2', [
        stack.app,
        uid,
      ])
    ).rows;

  beforeAll(async () => {
    await stack.startRouter({ http: true });
    api = await stack.http();
    for (const user of ['mal', 'bob', 'carol', 'dave']) {
      clients[user] = await stack.client(user);
      tokens[user] = await stack.token(user);
    }
  });
  afterAll(() => stack.close());

  it('refuses an inline group whose id is not in group form (a user id)', async () => {
    await clients.mal!.publish(stack.outgoing('mal', 'bob'), {
      text: 'I am bob now',
      channel_type: 'group',
      group: { members: { carol: 1 } },
    });
    const error = await clients.mal!.waitFor(errorCode('mal', 'invalid_group_id'));
    expect(error.payload.message).toContain('group-');
    expect(await groupRows('bob')).toEqual([]);
  });

  it('refuses an inline group on a message that does not say it is a group message', async () => {
    await clients.mal!.publish(stack.outgoing('mal', 'bob'), {
      text: 'sneaky',
      group: { members: { carol: 1 } },
    });
    await clients.mal!.waitFor(errorCode('mal', 'invalid_payload'));
    expect(await groupRows('bob')).toEqual([]);
    expect(clients.carol!.received.some((m) => m.payload.text === 'sneaky')).toBe(false);
  });

  it('refuses POST /groups with a user id as group id (400 invalid_group_id)', async () => {
    const res = await call('mal', 'POST', '/groups', {
      group_id: 'bob',
      group_name: 'Bob',
      group_members: { carol: 1 },
    });
    expect(res.statusCode).toBe(400);
    expect(res.headers['x-mercurio-error']).toBe('invalid_group_id');
    expect(await groupRows('bob')).toEqual([]);
    // Group-form ids are never users: not as members either.
    const member = await call('mal', 'POST', '/groups', {
      group_name: 'Fake member',
      group_members: { 'group-bob': 1 },
    });
    expect(member.statusCode).toBe(400);
    expect(member.headers['x-mercurio-error']).toBe('reserved_id');
  });

  it('delivers direct messages to bob even where a group named bob exists (stored before the fix)', async () => {
    await stack.createGroup('bob', 'mal', ['mal', 'carol']);
    // MQTT, as Chat21 clients send it: no channel_type.
    await clients.carol!.publish(stack.outgoing('carol', 'bob'), { text: 'for bob only' });
    const copy = await clients.bob!.waitFor(added('bob', 'carol', 'for bob only'));
    expect(copy.payload).toMatchObject({
      channel_type: 'direct',
      sender: 'carol',
      recipient: 'bob',
      status: 150,
    });
    // HTTP #12 without channel_type.
    const http = await call('carol', 'POST', '/messages', {
      sender_fullname: 'Carol',
      recipient_id: 'bob',
      recipient_fullname: 'Bob',
      text: 'over http, for bob only',
    });
    expect(http.statusCode).toBe(200);
    await clients.bob!.waitFor(added('bob', 'carol', 'over http, for bob only'));
    // A non-member of the group is not refused: dave writes to the user bob.
    await clients.dave!.publish(stack.outgoing('dave', 'bob'), { text: 'dave to bob' });
    await clients.bob!.waitFor(added('bob', 'dave', 'dave to bob'));
    // The attacker got none of it, and the stored conversation is the direct one.
    await clients.carol!.waitFor(added('carol', 'bob', 'over http, for bob only'));
    expect(clients.mal!.received.some((m) => String(m.payload.text).includes('bob only'))).toBe(false);
    expect(clients.dave!.received.some((m) => m.payload.text === 'for bob only')).toBe(false);
    const { rows } = await stack.sql.query(
      'SELECT DISTINCT conversation_key FROM messages WHERE app_id = $1 AND sender IN ($2, $3)',
      [stack.app, 'carol', 'dave'],
    );
    expect(rows.map((r) => r.conversation_key).sort()).toEqual(['d/bob/carol', 'd/bob/dave']);
  });

  it('never lets a group-form id be a user', async () => {
    const admin = await stack.adminToken();
    const res = await api.inject({
      method: 'POST',
      url: `/api/v1/apps/${stack.app}/tokens`,
      headers: { authorization: admin, 'content-type': 'application/json' },
      payload: JSON.stringify({ user_id: 'group-bob' }),
    });
    expect(res.statusCode).toBe(400);
    expect(res.headers['x-mercurio-error']).toBe('reserved_id');
    expect(() => parseCommand(['token', '--app', 'a', '--user', 'group-x'])).toThrow(/group-/);
    expect(() => parseCommand(['token', '--app', 'a', '--user', 'system'])).toThrow(/system/);
  });
});
