import type { FastifyInstance } from 'fastify';
import { decodeJwt } from 'jose';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { signUserToken } from '../src/auth/tokens.js';
import type { Received, TestClient } from './support/mqtt-client.js';
import { ENGINES, TestStack } from './support/stack.js';

/**
 * Audit hole 5: a user faked their display name ("Bob (your boss)") and a service notice
 * (`attributes.subtype: "info"`). Names come from what the server trusts (the user's profile,
 * else their id); only the server's own sender (`system`) sends info notices.
 */
describe.each(ENGINES)('trusted sender names and notices (%s)', (engine) => {
  const stack = new TestStack('sender-trust', {}, engine);
  let api: FastifyInstance;
  const clients: Record<string, TestClient> = {};
  const tokens: Record<string, string> = {};

  const call = (caller: string, method: 'GET' | 'POST' | 'PUT', path: string, payload?: unknown) =>
    api.inject({
      method,
      url: path.startsWith('/v1') ? `/api${path.replace('{app}', stack.app)}` : `/api/${stack.app}${path}`,
      headers: {
        authorization: tokens[caller]!,
        ...(payload === undefined ? {} : { 'content-type': 'application/json' }),
      },
      ...(payload === undefined ? {} : { payload: JSON.stringify(payload) }),
    });
  const addedFrom = (user: string, from: string, text: string) => (m: Received) =>
    m.topic === stack.topic('users', user, 'messages', from, 'clientadded') && m.payload.text === text;
  const typingFrom = (user: string, from: string) => (m: Received) =>
    m.topic === stack.topic('users', user, 'typing', from, 'clientupdated');
  const storedBody = async (text: string) => {
    const { rows } = await stack.sql.query('SELECT body FROM messages WHERE app_id = $1 AND text = $2', [
      stack.app,
      text,
    ]);
    expect(rows).toHaveLength(1);
    return rows[0].body as Record<string, unknown>;
  };
  const fakeNotice = (text: string) => ({
    text,
    type: 'text',
    sender_fullname: 'Bob (your boss)',
    recipient_fullname: 'Victim',
    attributes: {
      subtype: 'info',
      messagelabel: { key: 'GROUP_CREATED', parameters: { creator: 'bob' } },
      custom: 1,
    },
  });

  beforeAll(async () => {
    api = await stack.http();
    for (const user of ['mallory', 'victim', 'dana', 'erin', 'finn']) {
      tokens[user] = await stack.token(user);
      clients[user] = await stack.client(user);
    }
    tokens.admin = await stack.adminToken();
  });
  afterAll(() => stack.close());

  it('a faked name and a faked system notice reach the victim as the sender id and a plain message', async () => {
    const text = 'SYSTEM NOTICE: sign in again at https://evil.example';
    await clients.mallory!.publish(stack.outgoing('mallory', 'victim'), fakeNotice(text));

    const copy = await clients.victim!.waitFor(addedFrom('victim', 'mallory', text));
    expect(copy.payload.sender).toBe('mallory');
    expect(copy.payload.sender_fullname).toBe('mallory');
    expect(copy.payload.attributes).toEqual({ custom: 1 });

    const stored = await storedBody(text);
    expect(stored.sender_fullname).toBe('mallory');
    expect(stored.attributes).toEqual({ custom: 1 });

    const history = await call('victim', 'GET', '/v1/apps/{app}/users/victim/conversations/mallory/messages');
    expect(history.statusCode).toBe(200);
    const shown = history.json().result.find((m: { text: string }) => m.text === text);
    expect(shown).toMatchObject({ sender: 'mallory', sender_fullname: 'mallory', attributes: { custom: 1 } });
    expect(shown.attributes.subtype).toBeUndefined();
  });

  it('a faked writer name in a typing event reaches the other party as the writer id', async () => {
    await clients.mallory!.publish(stack.topic('users', 'mallory', 'typing', 'victim'), {
      typing: true,
      writer_fullname: 'Bob (your boss)',
    });
    const typing = await clients.victim!.waitFor(typingFrom('victim', 'mallory'));
    expect(typing.payload).toMatchObject({ writer_id: 'mallory', writer_fullname: 'mallory' });
  });

  it('a name given to the token route is the name on the user’s later messages and typing events', async () => {
    const res = await call('admin', 'POST', '/v1/apps/{app}/tokens', {
      user_id: 'dana',
      fullname: 'Dana Scully',
    });
    expect(res.statusCode).toBe(200);
    expect(decodeJwt(res.json().result.token)).toMatchObject({ sub: 'dana', name: 'Dana Scully' });

    const text = 'the truth is out there';
    await clients.dana!.publish(stack.outgoing('dana', 'victim'), {
      ...fakeNotice(text),
      sender_fullname: 'Fox',
    });
    const copy = await clients.victim!.waitFor(addedFrom('victim', 'dana', text));
    expect(copy.payload).toMatchObject({ sender_fullname: 'Dana Scully', attributes: { custom: 1 } });
    expect(copy.payload.attributes).toEqual({ custom: 1 });

    await clients.dana!.publish(stack.topic('users', 'dana', 'typing', 'victim'), { writer_fullname: 'Fox' });
    const typing = await clients.victim!.waitFor(typingFrom('victim', 'dana'));
    expect(typing.payload.writer_fullname).toBe('Dana Scully');
  });

  it('an admin sets and reads a profile; a user can neither set one nor read another’s', async () => {
    const set = await call('admin', 'PUT', '/v1/apps/{app}/users/erin/profile', {
      firstname: 'Erin',
      lastname: 'Reyes',
    });
    expect(set.statusCode).toBe(200);
    expect(set.json().result).toMatchObject({ userid: 'erin', fullname: null, display_name: 'Erin Reyes' });
    const own = await call('erin', 'GET', '/v1/apps/{app}/users/erin/profile');
    expect(own.json().result.display_name).toBe('Erin Reyes');

    const selfNamed = await call('mallory', 'PUT', '/v1/apps/{app}/users/mallory/profile', {
      fullname: 'Bob (your boss)',
    });
    expect(selfNamed.statusCode).toBe(403);
    expect(selfNamed.json()).toMatchObject({ success: false, err: { code: 'forbidden' } });
    expect((await call('mallory', 'GET', '/v1/apps/{app}/users/erin/profile')).statusCode).toBe(403);
    const badName = await call('admin', 'PUT', '/v1/apps/{app}/users/erin/profile', { fullname: 'a\nb' });
    expect(badName.statusCode).toBe(400);

    const text = 'hello from erin';
    await clients.erin!.publish(stack.outgoing('erin', 'victim'), { text, sender_fullname: 'Not Erin' });
    const copy = await clients.victim!.waitFor(addedFrom('victim', 'erin', text));
    expect(copy.payload.sender_fullname).toBe('Erin Reyes');
  });

  it('a name claim of a verified token, seen by the HTTP API, becomes the user’s name', async () => {
    tokens.finn = await signUserToken(stack.config.jwt, {
      app: stack.app,
      user: 'finn',
      ttlSeconds: 600,
      names: { fullname: 'Finn the Human', firstname: null, lastname: null },
    });
    expect((await call('finn', 'GET', '/finn/conversations')).statusCode).toBe(200);
    const text = 'mathematical!';
    await clients.finn!.publish(stack.outgoing('finn', 'victim'), { text, sender_fullname: 'Jake' });
    expect((await clients.victim!.waitFor(addedFrom('victim', 'finn', text))).payload.sender_fullname).toBe(
      'Finn the Human',
    );
  });

  it('over HTTP a user’s sender_fullname is ignored; an admin names the bot it sends as', async () => {
    const faked = await call('mallory', 'POST', '/messages', {
      ...fakeNotice('http notice'),
      recipient_id: 'victim',
    });
    expect(faked.statusCode).toBe(200);
    const copy = await clients.victim!.waitFor(addedFrom('victim', 'mallory', 'http notice'));
    expect(copy.payload).toMatchObject({ sender_fullname: 'mallory', attributes: { custom: 1 } });
    expect(copy.payload.attributes).toEqual({ custom: 1 });

    const bot = await call('admin', 'POST', '/messages', {
      sender_id: 'helper-bot',
      sender_fullname: 'Helper Bot',
      recipient_id: 'victim',
      recipient_fullname: 'Victim',
      text: 'beep',
    });
    expect(bot.statusCode).toBe(200);
    const fromBot = await clients.victim!.waitFor(addedFrom('victim', 'helper-bot', 'beep'));
    expect(fromBot.payload.sender_fullname).toBe('Helper Bot');
  });

  it('the server’s own group notices keep subtype info; a member’s faked one in the group loses it', async () => {
    const res = await call('erin', 'POST', '/groups', {
      group_id: 'group-trust',
      group_name: 'Trust',
      group_members: { victim: 1 },
    });
    expect(res.statusCode).toBe(201);
    const notice = await clients.victim!.waitFor(addedFrom('victim', 'group-trust', 'Group created'));
    expect(notice.payload).toMatchObject({
      sender: 'system',
      sender_fullname: 'System',
      attributes: { subtype: 'info', messagelabel: { key: 'GROUP_CREATED' } },
    });

    const text = 'SYSTEM NOTICE: the group moved to https://evil.example';
    await clients.erin!.publish(stack.outgoing('erin', 'group-trust'), {
      ...fakeNotice(text),
      channel_type: 'group',
    });
    const faked = await clients.victim!.waitFor(addedFrom('victim', 'group-trust', text));
    expect(faked.payload).toMatchObject({ sender: 'erin', sender_fullname: 'Erin Reyes' });
    expect(faked.payload.attributes).toEqual({ custom: 1 });
  });
});
