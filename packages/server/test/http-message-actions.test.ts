import type { FastifyInstance } from 'fastify';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DEFAULT_MESSAGE_ACTION_SETTINGS } from '../src/message-actions/settings.js';
import { messageActions } from './support/message-actions.js';
import type { TestClient } from './support/mqtt-client.js';
import { ENGINES, TestStack } from './support/stack.js';

// Issue 15 over HTTP (bots and services): edit, delete, reactions, versions; both engines.
describe.each(ENGINES)('HTTP: changing messages (%s)', (engine) => {
  let stack: TestStack;
  let act: ReturnType<typeof messageActions>;
  let api: FastifyInstance;
  let alice: TestClient;
  let bob: TestClient;
  const tokens: Record<string, string> = {};

  const call = (
    who: string,
    method: 'GET' | 'PATCH' | 'PUT' | 'DELETE',
    path: string,
    payload?: unknown,
    app: FastifyInstance = api,
  ) =>
    app.inject({
      method,
      url: `/api/v1/apps/${stack.app}${path}`,
      headers: {
        authorization: tokens[who]!,
        ...(payload === undefined ? {} : { 'content-type': 'application/json' }),
      },
      ...(payload === undefined
        ? {}
        : { payload: typeof payload === 'string' ? payload : JSON.stringify(payload) }),
    });

  beforeAll(async () => {
    stack = new TestStack('http-actions', {}, engine);
    act = messageActions(stack);
    await stack.startRouter();
    api = await stack.http();
    for (const user of ['alice', 'bob', 'carol']) tokens[user] = `Bearer ${await stack.token(user)}`;
    tokens.admin = `Bearer ${await stack.adminToken()}`;
    [alice, bob] = (await Promise.all(['alice', 'bob'].map((u) => stack.client(u)))) as [
      TestClient,
      TestClient,
    ];
  });
  afterAll(() => stack.close());

  it('PATCH edits (author, or an admin as the author) and the peer sees it live; others are refused, nothing changes', async () => {
    const sent = await act.send(alice, 'alice', bob, 'bob', { text: 'draft' });
    const id = sent.message_id;
    const edited = await call('alice', 'PATCH', `/messages/${id}`, { text: 'final', attributes: { k: 1 } });
    expect(edited.statusCode).toBe(200);
    expect(edited.json().result).toMatchObject({
      message_id: id,
      seq: sent.seq,
      text: 'final',
      attributes: { k: 1 },
      status: 100,
    });
    expect((await bob.waitFor(act.updated('bob', 'alice', id, 'edited'))).payload.text).toBe('final');
    const asAuthor = await call('admin', 'PATCH', `/messages/${id}?user_id=alice`, {
      text: 'final, by a service',
    });
    expect(asAuthor.statusCode).toBe(200);

    const stored = () => act.stored(id);
    const before = await stored();
    const refusals: [string, string, unknown, number, string][] = [
      ['bob', `/messages/${id}`, { text: 'mine now' }, 403, 'not_author'],
      ['carol', `/messages/${id}`, { text: 'x' }, 404, 'message_not_found'],
      ['bob', `/messages/${id}?user_id=alice`, { text: 'x' }, 403, 'forbidden'],
      ['alice', '/messages/no-such-id', { text: 'x' }, 404, 'message_not_found'],
      ['alice', `/messages/${id}`, { text: 'x'.repeat(70 * 1024) }, 413, 'payload_too_large'],
      ['alice', `/messages/${id}`, { attributes: {} }, 400, 'invalid_request'],
    ];
    for (const [who, path, body, status, code] of refusals) {
      const response = await call(who, 'PATCH', path, body);
      expect([response.statusCode, response.json().err?.code]).toEqual([status, code]);
    }
    const nested = `{"text":"x","attributes":${'{"a":'.repeat(40)}1${'}'.repeat(40)}}`;
    const deep = await call('alice', 'PATCH', `/messages/${id}`, nested);
    expect([deep.statusCode, deep.json().err?.code]).toEqual([400, 'invalid_payload']);
    // Past the edit window (a clock two minutes ahead, a window of one).
    const later = await stack.http(
      {},
      {
        messageActions: { ...DEFAULT_MESSAGE_ACTION_SETTINGS, editWindowSeconds: 60 },
        now: () => Date.now() + 120_000,
      },
    );
    const late = await call('alice', 'PATCH', `/messages/${id}`, { text: 'too late' }, later);
    expect([late.statusCode, late.json().err?.code]).toEqual([403, 'edit_window_expired']);
    expect(await stored()).toEqual(before);
  });

  it('DELETE for me and for everyone (an admin may delete anyone’s); versions for admins only', async () => {
    const id = (await act.send(bob, 'bob', alice, 'alice', { text: 'hmm' })).message_id;
    const mine = await call('alice', 'DELETE', `/messages/${id}?for=me`);
    expect(mine.statusCode).toBe(200);
    expect((await act.stored(id)).hidden).toEqual([{ user_id: 'alice' }]);
    expect((await call('carol', 'DELETE', `/messages/${id}`)).statusCode).toBe(404);
    expect((await call('alice', 'DELETE', `/messages/${id}`)).statusCode).toBe(404); // hidden for her now
    const byAdmin = await call('admin', 'DELETE', `/messages/${id}`);
    expect(byAdmin.statusCode).toBe(200);
    expect((await bob.waitFor(act.updated('bob', 'alice', id, 'deleted'))).payload.text).toBe('');
    const versions = await call('admin', 'GET', `/messages/${id}/versions`);
    expect(versions.json().result.versions).toMatchObject([
      { version: 1, message: { text: 'hmm' }, change: 'deleted' },
    ]);
    expect(versions.json().result.current).toMatchObject({ text: '', deleted_at: expect.any(Number) });
    const asUser = await call('bob', 'GET', `/messages/${id}/versions`);
    expect([asUser.statusCode, asUser.json().err?.code]).toEqual([403, 'forbidden']);
  });

  it('PUT / DELETE a reaction: idempotent, URL-encoded, one emoji only', async () => {
    const id = (await act.send(alice, 'alice', bob, 'bob', { text: 'react' })).message_id;
    const path = `/messages/${id}/reactions/${encodeURIComponent('👍🏽')}`;
    for (let i = 0; i < 2; i++) {
      const added = await call('bob', 'PUT', path);
      expect(added.statusCode).toBe(200);
      expect(added.json().result.reactions).toEqual({ '👍🏽': { count: 1, users: ['bob'] } });
    }
    expect((await act.stored(id)).reactions).toHaveLength(1);
    await alice.waitFor(
      (m) => act.updated('alice', 'bob', id, 'reactions')(m) && m.payload.reactions !== undefined,
    );
    const before = await act.stored(id);
    for (const bad of ['ab', '👍👍', 'like', '%F0%9F']) {
      const response = await call('bob', 'PUT', `/messages/${id}/reactions/${encodeURIComponent(bad)}`);
      expect([response.statusCode, response.json().err?.code]).toEqual([400, 'invalid_reaction']);
    }
    // 10 kB in the path is refused before any route runs (over the router's parameter length).
    const huge = await call('bob', 'PUT', `/messages/${id}/reactions/${'x'.repeat(10_000)}`);
    expect(huge.statusCode).toBeGreaterThanOrEqual(400);
    expect(huge.statusCode).toBeLessThan(500);
    expect((await call('carol', 'PUT', path)).statusCode).toBe(404);
    expect(await act.stored(id)).toEqual(before);
    for (let i = 0; i < 2; i++) {
      const removed = await call('bob', 'DELETE', path);
      expect(removed.statusCode).toBe(200);
      expect(removed.json().result.reactions).toBeUndefined();
    }
    expect((await act.stored(id)).reactions).toEqual([]);
  });
});
