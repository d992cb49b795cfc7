import { randomUUID } from 'node:crypto';
import type { FastifyInstance } from 'fastify';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { messageActions } from './support/message-actions.js';
import type { Received, TestClient } from './support/mqtt-client.js';
import { ENGINES, TestStack } from './support/stack.js';
import { WebhookReceiver } from './support/webhook-receiver.js';

// Issue 15: replies (a quote that follows its message, a thread route) and mentions, on both engines.
describe.each(ENGINES)('replies and mentions (%s)', (engine) => {
  let receiver: WebhookReceiver;
  let stack: TestStack;
  let act: ReturnType<typeof messageActions>;
  let api: FastifyInstance;
  let alice: TestClient;
  let bob: TestClient;
  let carol: TestClient;
  const GROUP = 'group-team';

  async function get(user: string, path: string) {
    const response = await api.inject({
      method: 'GET',
      url: `/api/v1/apps/${stack.app}/users/${user}/conversations/${path}`,
      headers: { authorization: `Bearer ${await stack.token(user)}` },
    });
    return response.json();
  }
  const inHistory = async (user: string, cw: string, id: string) =>
    (await get(user, `${cw}/messages?limit=100`)).result.find(
      (m: { message_id: string }) => m.message_id === id,
    );
  const messageCount = async () =>
    Number(
      (await stack.sql.query('SELECT count(*) AS n FROM messages WHERE app_id = $1', [stack.app])).rows[0].n,
    );
  const errorWith = (user: string, code: string, id: string) => act.refused(user, code, id);

  beforeAll(async () => {
    receiver = await WebhookReceiver.start();
    stack = new TestStack(
      'replies',
      {
        ...receiver.settings(),
      },
      engine,
    );
    act = messageActions(stack);
    await stack.startRouter();
    api = await stack.http();
    await stack.createGroup(GROUP, 'alice', ['alice', 'bob', 'carol']);
    [alice, bob, carol] = (await Promise.all(['alice', 'bob', 'carol'].map((u) => stack.client(u)))) as [
      TestClient,
      TestClient,
      TestClient,
    ];
  });
  afterAll(async () => {
    await stack.close();
    await receiver.close();
  });

  it('a reply carries a quote that follows edits and deletes of its message; the thread is paged', async () => {
    const original = await act.send(alice, 'alice', bob, 'bob', { text: `question ${'?'.repeat(200)}` });
    const reply = await act.send(bob, 'bob', alice, 'alice', {
      text: 'answer one',
      reply_to: original.message_id,
    });
    expect(reply.reply_to).toBe(original.message_id);
    expect(reply.quote).toEqual({
      message_id: original.message_id,
      seq: original.seq,
      sender: 'alice',
      text: `question ${'?'.repeat(111)}`,
      ...(original.sender_fullname === undefined ? {} : { sender_fullname: original.sender_fullname }),
    });
    for (const text of ['answer two', 'answer three'])
      await act.send(bob, 'bob', alice, 'alice', { text, reply_to: original.message_id });
    await act.send(bob, 'bob', alice, 'alice', { text: 'not in the thread' });

    const first = await get('alice', `bob/messages/${original.message_id}/replies?limit=2`);
    expect(first.result.map((m: { text: string }) => m.text)).toEqual(['answer one', 'answer two']);
    expect(first.has_more).toBe(true);
    const rest = await get(
      'alice',
      `bob/messages/${original.message_id}/replies?limit=2&after=${first.last_seq}`,
    );
    expect(rest.result.map((m: { text: string }) => m.text)).toEqual(['answer three']);
    expect(rest.has_more).toBe(false);
    // Carol sees no thread of a conversation she is not in.
    expect((await get('carol', `alice/messages/${original.message_id}/replies`)).err?.code).toBe(
      'message_not_found',
    );

    await alice.publish(act.changeTopic('alice', 'bob', original.message_id, 'edit'), {
      text: 'question, edited',
    });
    await bob.waitFor(act.updated('bob', 'alice', original.message_id, 'edited'));
    expect((await inHistory('bob', 'alice', reply.message_id)).quote).toMatchObject({
      text: 'question, edited',
    });
    // Search serves it as history does: with the quote as it is now.
    const found = await api.inject({
      method: 'GET',
      url: `/api/v1/apps/${stack.app}/users/alice/search?q=${encodeURIComponent('"answer one"')}`,
      headers: { authorization: `Bearer ${await stack.token('alice')}` },
    });
    const hit = found
      .json()
      .result.find((h: { message: { message_id: string } }) => h.message.message_id === reply.message_id);
    expect(hit.message.quote).toMatchObject({ message_id: original.message_id, text: 'question, edited' });
    // The reply's webhook events carry its quote (as it was sent), message-sent and message-delivered alike.
    const hookData = (type: string, id: string) =>
      receiver.requests.find((r) => r.body.event_type === type && r.body.message_id === id)?.body.data as
        | { quote?: unknown }
        | undefined;
    for (const type of ['message-sent', 'message-delivered']) {
      await expect
        .poll(() => hookData(type, reply.message_id)?.quote, { timeout: 10_000 })
        .toEqual(reply.quote);
    }
    expect(hookData('message-sent', original.message_id)).toBeDefined();
    expect(hookData('message-sent', original.message_id)?.quote).toBeUndefined();
    await alice.publish(act.changeTopic('alice', 'bob', original.message_id, 'delete'), {});
    await bob.waitFor(act.updated('bob', 'alice', original.message_id, 'deleted'));
    expect((await inHistory('alice', 'bob', reply.message_id)).quote).toMatchObject({
      text: '',
      deleted: true,
    });
  });

  it('refuses a reply to another conversation, another app, an unknown, hidden or deleted message; nothing is stored', async () => {
    const elsewhere = await act.send(alice, 'alice', carol, 'carol', { text: 'alice and carol only' });
    const hiddenOne = await act.send(alice, 'alice', bob, 'bob', { text: 'bob hides this' });
    await bob.publish(act.changeTopic('bob', 'alice', hiddenOne.message_id, 'delete'), { for: 'me' });
    await bob.waitFor(act.updated('bob', 'alice', hiddenOne.message_id, 'hidden'));
    const gone = await act.send(alice, 'alice', bob, 'bob', { text: 'deleted soon' });
    await alice.publish(act.changeTopic('alice', 'bob', gone.message_id, 'delete'), {});
    await bob.waitFor(act.updated('bob', 'alice', gone.message_id, 'deleted'));
    // A message of another app, with an id of its own.
    const foreign = randomUUID();
    await stack.sql.query(
      `INSERT INTO messages (app_id, conversation_key, seq, message_id, sender, recipient, channel_type, body, text, created_at)
       VALUES ('other-app', 'd/alice/bob', 1, $1, 'alice', 'bob', 'direct', '{"text":"other"}', 'other', 0)`,
      [foreign],
    );
    const cases: [string, string][] = [
      [elsewhere.message_id, 'message_not_found'],
      [foreign, 'message_not_found'],
      ['no-such-message', 'message_not_found'],
      [hiddenOne.message_id, 'message_not_found'],
      [gone.message_id, 'message_deleted'],
    ];
    for (const [replyTo, code] of cases) {
      const before = await messageCount();
      const id = randomUUID();
      await bob.publish(stack.outgoing('bob', 'alice'), {
        text: 'a reply',
        reply_to: replyTo,
        message_id: id,
      });
      await bob.waitFor(errorWith('bob', code, id));
      expect(await messageCount()).toBe(before);
    }
    const id = randomUUID();
    const tooMany = Array.from({ length: 51 }, (_, i) => `u${i}`);
    await bob.publish(stack.outgoing('bob', 'alice'), { text: 'hi', mentions: tooMany, message_id: id });
    await bob.waitFor(errorWith('bob', 'invalid_payload', id));
    await stack.sql.query(`DELETE FROM messages WHERE app_id = 'other-app' AND message_id = $1`, [foreign]);
  });

  it('mentions: participants only, on the mentioned copy, the conversation entry (even archived) and the webhook; cleared on read', async () => {
    // Bob archived the group; a mention still reaches him.
    await act.send(alice, 'alice', bob, GROUP, { text: 'hello team', channel_type: 'group' });
    await bob.publish(stack.topic('users', 'bob', 'conversations', GROUP, 'archive'), {});
    await bob.waitFor(
      (m: Received) =>
        m.topic === stack.topic('users', 'bob', 'archived_conversations', GROUP, 'clientadded'),
    );
    const sent = await act.send(alice, 'alice', bob, GROUP, {
      text: '@bob look',
      channel_type: 'group',
      mentions: ['bob', 'zed', 'alice', 'bob'],
    });
    expect(sent.mentions).toEqual(['bob']);
    expect(sent.mentioned).toBe(true);
    const carolCopy = await carol.waitFor((m) => m.payload.message_id === sent.message_id);
    expect(carolCopy.payload.mentioned).toBeUndefined();
    const rows = async () =>
      (
        await stack.sql.query(
          'SELECT owner, mentioned FROM conversations WHERE app_id = $1 AND convers_with = $2 ORDER BY owner',
          [stack.app, GROUP],
        )
      ).rows;
    expect(await rows()).toEqual([
      { owner: 'alice', mentioned: false },
      { owner: 'bob', mentioned: true },
      { owner: 'carol', mentioned: false },
    ]);
    expect((await inHistory('bob', GROUP, sent.message_id)).mentioned).toBe(true);
    expect((await inHistory('carol', GROUP, sent.message_id)).mentioned).toBeUndefined();
    await expect
      .poll(
        () =>
          receiver.requests.find(
            (r) =>
              r.body.event_type === 'message-delivered' &&
              r.body.message_id === sent.message_id &&
              r.body.delivered_to === 'bob',
          )?.body,
        { timeout: 10_000 },
      )
      .toMatchObject({ mentioned: true, data: { mentioned: true } });
    const forCarol = receiver.requests.find(
      (r) => r.body.message_id === sent.message_id && r.body.delivered_to === 'carol',
    );
    expect(forCarol?.body.mentioned).toBeUndefined();
    // Read: the flag goes.
    await bob.publish(stack.topic('users', 'bob', 'messages', GROUP, sent.message_id, 'update'), {
      status: 200,
    });
    await expect.poll(async () => (await rows())[1].mentioned, { timeout: 10_000 }).toBe(false);
    // A direct message keeps only the peer.
    const direct = await act.send(alice, 'alice', bob, 'bob', { text: 'psst', mentions: ['carol', 'bob'] });
    expect(direct.mentions).toEqual(['bob']);
    expect(direct.mentioned).toBe(true);
  });
  it('an edit that adds mentions flags the newly mentioned like a new message; removing a mention un-flags no one', async () => {
    const rows = async () =>
      (
        await stack.sql.query(
          'SELECT owner, mentioned FROM conversations WHERE app_id = $1 AND convers_with = $2 ORDER BY owner',
          [stack.app, GROUP],
        )
      ).rows;
    // Everyone has read the group: no flags to begin with.
    for (const user of ['bob', 'carol'])
      await stack.sql.query(
        'UPDATE conversations SET mentioned = false WHERE app_id = $1 AND owner = $2 AND convers_with = $3',
        [stack.app, user, GROUP],
      );
    const sent = await act.send(alice, 'alice', carol, GROUP, {
      text: 'plain at first',
      channel_type: 'group',
      mentions: ['bob'],
    });
    await expect.poll(async () => (await rows())[1].mentioned, { timeout: 10_000 }).toBe(true);
    await stack.sql.query(
      'UPDATE conversations SET mentioned = false WHERE app_id = $1 AND owner = $2 AND convers_with = $3',
      [stack.app, 'bob', GROUP],
    );
    const entry = (user: string) => (m: Received) =>
      m.topic === stack.topic('users', user, 'conversations', GROUP, 'clientupdated') &&
      m.payload.mentioned === true;
    const carolEntries = carol.received.filter(entry('carol')).length;
    // Carol is added (and a stranger and the author are dropped, as for a new message); bob stays.
    await alice.publish(act.changeTopic('alice', GROUP, sent.message_id, 'edit'), {
      text: '@carol @bob now',
      mentions: ['carol', 'zed', 'alice', 'bob'],
    });
    const carolCopy = await carol.waitFor(act.updated('carol', GROUP, sent.message_id, 'edited'));
    expect(carolCopy.payload.mentioned).toBe(true);
    expect(carolCopy.payload.mentions).toEqual(['carol', 'bob']);
    await carol.waitForCount(entry('carol'), carolEntries + 1);
    expect(await rows()).toEqual([
      { owner: 'alice', mentioned: false },
      // Bob was mentioned before the edit: the edit does not flag him again.
      { owner: 'bob', mentioned: false },
      { owner: 'carol', mentioned: true },
    ]);
    const bobCopy = bob.received.filter(act.updated('bob', GROUP, sent.message_id, 'edited')).at(-1);
    expect(bobCopy?.payload.mentioned).toBe(true);
    expect((await inHistory('carol', GROUP, sent.message_id)).mentioned).toBe(true);
    // An edit that drops carol: her flag stays (she may not have looked yet), her copy says no more.
    await alice.publish(act.changeTopic('alice', GROUP, sent.message_id, 'edit'), {
      text: 'nobody now',
      mentions: [],
    });
    const dropped = await carol.waitFor(
      (m) => act.updated('carol', GROUP, sent.message_id, 'edited')(m) && m.payload.text === 'nobody now',
    );
    expect(dropped.payload.mentioned).toBeUndefined();
    expect(dropped.payload.mentions).toBeUndefined();
    expect((await rows())[2]).toEqual({ owner: 'carol', mentioned: true });
  });
});
