import type { FastifyInstance } from 'fastify';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Store } from '../src/store/store.js';
import type { TestClient } from './support/mqtt-client.js';
import { seedMessage } from './support/seed.js';
import { TestStack } from './support/stack.js';

describe('HTTP API: conversations and messages', () => {
  const stack = new TestStack('http-msg');
  let api: FastifyInstance;
  let store: Store;
  let alice: TestClient;
  let bob: TestClient;
  const tokens: Record<string, string> = {};

  const call = (user: string, method: 'GET' | 'POST' | 'DELETE', path: string, payload?: unknown) =>
    api.inject({
      method,
      url: path.startsWith('/v1') ? `/api${path.replace('{app}', stack.app)}` : `/api/${stack.app}${path}`,
      headers: {
        authorization: tokens[user]!,
        ...(payload === undefined ? {} : { 'content-type': 'application/json' }),
      },
      ...(payload === undefined ? {} : { payload: JSON.stringify(payload) }),
    });
  const added = (user: string, cw: string) => (m: { topic: string }) =>
    m.topic === stack.topic('users', user, 'messages', cw, 'clientadded');

  beforeAll(async () => {
    api = await stack.http();
    store = stack.router!.store;
    for (const user of ['alice', 'bob', 'carol']) tokens[user] = await stack.token(user);
    tokens.admin = await stack.adminToken();
    [alice, bob] = await Promise.all([stack.client('alice'), stack.client('bob')]);
  });
  afterAll(() => stack.close());

  it('#12 sends a message through the router: both copies delivered, one row stored', async () => {
    const res = await call('alice', 'POST', '/messages', {
      sender_fullname: 'Alice',
      recipient_id: 'bob',
      recipient_fullname: 'Bob',
      text: 'hello over http',
      type: 'text',
      channel_type: 'direct',
      attributes: { a: 1 },
      group: { members: { carol: 1 } },
      sneaky: 'dropped',
    });
    expect(res.statusCode).toBe(200);
    const { success, message_id } = res.json();
    expect(success).toBe(true);
    const copy = await bob.waitFor(added('bob', 'alice'));
    expect(copy.payload).toMatchObject({
      text: 'hello over http',
      sender: 'alice',
      recipient: 'bob',
      // A user's own sender_fullname is not trusted: alice has no profile, so her id is her name.
      sender_fullname: 'alice',
      status: 150,
      message_id,
      attributes: { a: 1 },
    });
    expect(copy.payload.group).toBeUndefined();
    expect(copy.payload.sneaky).toBeUndefined();
    await alice.waitFor((m) => added('alice', 'bob')(m) && m.payload.message_id === message_id);
    const { rows } = await stack.sql.query(
      'SELECT sender, recipient FROM messages WHERE app_id = $1 AND message_id = $2',
      [stack.app, message_id],
    );
    expect(rows).toEqual([{ sender: 'alice', recipient: 'bob' }]);
  });

  it('#12 refuses with 413 a message the router could not take (it used to answer 200, then drop it)', async () => {
    const limit = stack.config.router.maxPayloadBytes;
    const res = await call('alice', 'POST', '/messages', {
      sender_fullname: 'Alice',
      recipient_id: 'bob',
      recipient_fullname: 'Bob',
      text: 'x'.repeat(limit),
    });
    expect(res.statusCode).toBe(413);
    expect(res.headers['x-mercurio-error']).toBe('payload_too_large');
    expect(res.body).toContain(`the limit is ${limit}`);
  });

  it('#12 lets an admin send as a bot, and refuses sender_id from a user', async () => {
    const res = await call('admin', 'POST', '/messages', {
      sender_id: 'bot-1',
      sender_fullname: 'Bot',
      recipient_id: 'bob',
      recipient_fullname: 'Bob',
      text: 'beep',
    });
    expect(res.statusCode).toBe(200);
    expect((await bob.waitFor(added('bob', 'bot-1'))).payload).toMatchObject({
      sender: 'bot-1',
      sender_fullname: 'Bot',
      text: 'beep',
    });
    const refused = await call('alice', 'POST', '/messages', {
      sender_id: 'bob',
      sender_fullname: 'Bob',
      recipient_id: 'alice',
      recipient_fullname: 'A',
      text: 'spoof',
    });
    expect(refused.statusCode).toBe(401);
    expect(refused.json()).toMatchObject({ success: false, code: 'forbidden' });
  });

  it('refuses a body or a search holding a NUL character (PostgreSQL cannot store it), clearly', async () => {
    const body = await call('alice', 'POST', '/messages', {
      recipient_id: 'bob',
      recipient_fullname: 'Bob',
      text: 'before\u0000after',
    });
    expect(body.statusCode).toBe(400);
    expect(body.json()).toMatchObject({ success: false, code: 'invalid_payload' });
    expect(body.body).toContain('NUL');
    const search = await call('alice', 'GET', '/v1/apps/{app}/users/alice/search?q=hello%00');
    expect(search.statusCode).toBe(400);
    // Nothing was stored, and the API keeps serving.
    expect(await store.findMessage(stack.app, 'none')).toBeNull();
    expect((await call('alice', 'GET', '/v1/apps/{app}/users/alice/search?q=hello')).statusCode).toBe(200);
  });

  it('#12 refuses a message to an unknown group or from a non-member before publishing', async () => {
    const unknown = await call('alice', 'POST', '/messages', {
      sender_fullname: 'A',
      recipient_id: 'no-such-group',
      recipient_fullname: 'G',
      channel_type: 'group',
      text: 'x',
    });
    expect(unknown.statusCode).toBe(404);
    expect(unknown.json()).toMatchObject({ code: 'group_not_found' });
    const now = Date.now();
    await store.createGroupIfAbsent({
      app: stack.app,
      uid: 'group-closed',
      name: 'Closed',
      owner: 'bob',
      members: ['bob'],
      attributes: null,
      volatile: false,
      createdOn: now,
      updatedOn: now,
    });
    const outsider = await call('alice', 'POST', '/messages', {
      sender_fullname: 'A',
      recipient_id: 'group-closed',
      recipient_fullname: 'G',
      text: 'let me in',
    });
    expect(outsider.statusCode).toBe(403);
    expect(outsider.json()).toMatchObject({ code: 'not_a_member' });
  });

  it('#5–#9 list conversations (own only) with unread counts; #11 archives through the router', async () => {
    const list = await call('bob', 'GET', '/bob/conversations');
    expect(list.statusCode).toBe(200);
    const result = list.json().result as Record<string, unknown>[];
    expect(result.map((c) => c.conversWith)).toEqual(['bot-1', 'alice']);
    expect(result[1]).toMatchObject({
      timelineOf: 'bob',
      conversWith: 'alice',
      key: 'alice',
      is_new: true,
      archived: false,
      unread_count: 1,
      last_message_text: 'hello over http',
      app_id: stack.app,
    });
    const one = await call('bob', 'GET', '/bob/conversations/alice');
    expect(one.json().result).toHaveLength(1);
    expect((await call('bob', 'GET', '/bob/archived_conversations/alice')).json()).toEqual({
      success: true,
      result: [],
    });
    expect((await call('bob', 'GET', '/alice/conversations')).statusCode).toBe(401);
    expect((await call('bob', 'GET', '/alice/conversations/bob')).statusCode).toBe(401);
    expect((await call('bob', 'GET', '/alice/archived_conversations')).statusCode).toBe(401);

    const archived = await call('bob', 'DELETE', '/conversations/alice/');
    expect(archived.statusCode).toBe(201);
    expect(archived.json()).toEqual({ success: true });
    await bob.waitFor(
      (m) => m.topic === stack.topic('users', 'bob', 'archived_conversations', 'alice', 'clientadded'),
    );
    const { rows } = await stack.sql.query(
      'SELECT archived FROM conversations WHERE app_id = $1 AND owner = $2 AND convers_with = $3',
      [stack.app, 'bob', 'alice'],
    );
    expect(rows).toEqual([{ archived: true }]);
    for (const path of ['/bob/conversations/archived', '/bob/archived_conversations']) {
      expect(
        (await call('bob', 'GET', path)).json().result.map((c: { conversWith: string }) => c.conversWith),
      ).toEqual(['alice']);
    }
    expect((await call('bob', 'GET', '/bob/archived_conversations/alice')).json().result).toHaveLength(1);
    expect((await call('bob', 'GET', '/bob/conversations')).json().result).toHaveLength(1);
  });

  it('#11 lets only an admin archive for another user (body.user_id)', async () => {
    const refused = await call('alice', 'DELETE', '/conversations/alice', { user_id: 'bob' });
    expect(refused.statusCode).toBe(401);
    const ok = await call('admin', 'DELETE', '/conversations/bot-1', { user_id: 'bob' });
    expect(ok.statusCode).toBe(201);
    await bob.waitFor(
      (m) => m.topic === stack.topic('users', 'bob', 'archived_conversations', 'bot-1', 'clientadded'),
    );
  });

  it('#10 returns the newest 200 messages newest first, with per-copy statuses; never another user', async () => {
    for (let i = 1; i <= 230; i++)
      await seedMessage(store, stack.app, {
        sender: i % 2 ? 'carol' : 'dave',
        recipient: i % 2 ? 'dave' : 'carol',
        text: `m${i}`,
      });
    tokens.dave = await stack.token('dave');
    const res = await call('carol', 'GET', '/carol/conversations/dave/messages');
    expect(res.statusCode).toBe(200);
    const result = res.json().result as { text: string; seq: number; status: number; sender: string }[];
    expect(result).toHaveLength(200);
    expect(result[0]).toMatchObject({ text: 'm230', seq: 230 });
    expect(result[199]).toMatchObject({ text: 'm31', seq: 31 });
    // A sender's own watermark moves to what they send: dave (who wrote 230) has read carol's 229.
    expect(result.find((m) => m.seq === 229)).toMatchObject({ sender: 'carol', status: 250 });
    expect(result.find((m) => m.seq === 230)).toMatchObject({ sender: 'dave', status: 150 });
    await seedMessage(store, stack.app, { sender: 'carol', recipient: 'dave', text: 'm231' });
    await store.markRead(stack.app, 'carol', 'dave', 230);
    const after = (await call('carol', 'GET', '/carol/conversations/dave/messages')).json()
      .result as typeof result;
    expect(after[0]).toMatchObject({ seq: 231, sender: 'carol', status: 100 });
    expect(after[1]).toMatchObject({ seq: 230, sender: 'dave', status: 200 });
    const daves = (await call('dave', 'GET', '/dave/conversations/carol/messages')).json()
      .result as typeof result;
    expect(daves[0]).toMatchObject({ seq: 231, status: 150 });
    expect(daves[1]).toMatchObject({ seq: 230, status: 250 });

    const other = await call('alice', 'GET', '/carol/conversations/dave/messages');
    expect(other.statusCode).toBe(401);
    // Asking for a conversation alice is not part of through her own path gives her own (empty) one.
    expect((await call('alice', 'GET', '/alice/conversations/group-closed/messages')).json()).toEqual({
      success: true,
      result: [],
    });
  });

  it('pages history by seq both ways, oldest first within a page', async () => {
    const page = (query: string) =>
      call('carol', 'GET', `/v1/apps/{app}/users/carol/conversations/dave/messages${query}`);
    const newest = (await page('?limit=50')).json();
    expect(newest.result.map((m: { seq: number }) => m.seq)).toEqual(range(182, 231));
    expect(newest).toMatchObject({ has_more: true, first_seq: 182, last_seq: 231 });
    const older = (await page('?before=182&limit=100')).json();
    expect(older.result.map((m: { seq: number }) => m.seq)).toEqual(range(82, 181));
    const oldest = (await page('?before=82&limit=100')).json();
    expect(oldest.result.map((m: { seq: number }) => m.seq)).toEqual(range(1, 81));
    expect(oldest.has_more).toBe(false);
    const forward = (await page('?after=200&limit=20')).json();
    expect(forward.result.map((m: { seq: number }) => m.seq)).toEqual(range(201, 220));
    expect(forward.has_more).toBe(true);
    const end = (await page('?after=220&limit=20')).json();
    expect(end.result.map((m: { seq: number }) => m.seq)).toEqual(range(221, 231));
    expect(end.has_more).toBe(false);
    expect((await page('?after=1&before=5')).statusCode).toBe(400);
    expect((await page('?limit=100000')).statusCode).toBe(400);
    const foreign = await call('alice', 'GET', '/v1/apps/{app}/users/carol/conversations/dave/messages');
    expect(foreign.statusCode).toBe(403);
  });

  it('pages the conversation list with a cursor, newest first, unread counts included', async () => {
    const start = Date.now() - 100_000;
    for (let i = 0; i < 7; i++) {
      await seedMessage(store, stack.app, {
        sender: `peer-${i}`,
        recipient: 'erin',
        text: `hi ${i}`,
        createdAt: start + i,
      });
    }
    tokens.erin = await stack.token('erin');
    const seen: string[] = [];
    let cursor: string | null = null;
    do {
      const query: string = cursor ? `?limit=3&cursor=${cursor}` : '?limit=3';
      const res = (await call('erin', 'GET', `/v1/apps/{app}/users/erin/conversations${query}`)).json();
      expect(res.result.length).toBeLessThanOrEqual(3);
      for (const c of res.result) {
        expect(c.unread_count).toBe(1);
        seen.push(c.conversWith);
      }
      cursor = res.next_cursor;
    } while (cursor);
    expect(seen).toEqual(['peer-6', 'peer-5', 'peer-4', 'peer-3', 'peer-2', 'peer-1', 'peer-0']);
    const archived = (
      await call('bob', 'GET', '/v1/apps/{app}/users/bob/conversations?archived=true')
    ).json();
    expect(archived.result.map((c: { conversWith: string }) => c.conversWith).sort()).toEqual([
      'alice',
      'bot-1',
    ]);
  });

  it('#23 stores a device instance for the caller only', async () => {
    const token = `fcm:APA91b${'x'.repeat(150)}`;
    const res = await call('alice', 'POST', `/alice/instances/${token}`, { platform: 'ios', language: 'it' });
    expect(res.statusCode).toBe(200);
    const { rows } = await stack.sql.query(
      'SELECT user_id, platform, language FROM instances WHERE app_id = $1',
      [stack.app],
    );
    expect(rows).toEqual([{ user_id: 'alice', platform: 'ios', language: 'it' }]);
    expect((await call('alice', 'POST', '/bob/instances/abc', {})).statusCode).toBe(401);
  });

  it('reports the presence of a set of users', async () => {
    await alice.publish(stack.topic('users', 'alice', 'presence', 'web-1'), { connected: true });
    await expect
      .poll(
        async () => (await call('bob', 'GET', '/v1/apps/{app}/presence?users=alice,nobody')).json().result,
        {
          timeout: 10_000,
        },
      )
      .toEqual([
        { user_id: 'alice', status: 'online', last_online: expect.any(Number) },
        { user_id: 'nobody', status: 'offline', last_online: null },
      ]);
    expect((await call('bob', 'GET', '/v1/apps/{app}/presence?users=a.b')).statusCode).toBe(400);
  });
});

function range(from: number, to: number): number[] {
  return Array.from({ length: to - from + 1 }, (_, i) => from + i);
}
