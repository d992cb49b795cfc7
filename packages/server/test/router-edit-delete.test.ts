import type { FastifyInstance } from 'fastify';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { messageActions } from './support/message-actions.js';
import type { TestClient } from './support/mqtt-client.js';
import { ENGINES, TestStack } from './support/stack.js';
import { WebhookReceiver } from './support/webhook-receiver.js';

// Issue 15: edit, delete for everyone, delete for me — over MQTT from three real clients, on both engines.
describe.each(ENGINES)('editing and deleting messages (%s)', (engine) => {
  let receiver: WebhookReceiver;
  let stack: TestStack;
  let act: ReturnType<typeof messageActions>;
  let api: FastifyInstance;
  let alice: TestClient;
  let bob: TestClient;
  let carol: TestClient;

  const hooks = (type: string, id: string) =>
    receiver.requests.filter((r) => r.body.event_type === type && r.body.message_id === id);
  async function history(user: string, cw: string) {
    const response = await api.inject({
      method: 'GET',
      url: `/api/v1/apps/${stack.app}/users/${user}/conversations/${cw}/messages?limit=100`,
      headers: { authorization: `Bearer ${await stack.token(user)}` },
    });
    return response.json().result as Record<string, unknown>[];
  }
  async function search(user: string, text: string) {
    const response = await api.inject({
      method: 'GET',
      url: `/api/v1/apps/${stack.app}/users/${user}/search?q=${encodeURIComponent(text)}`,
      headers: { authorization: `Bearer ${await stack.token(user)}` },
    });
    return (response.json().result as { message: { message_id: string } }[]).map(
      (hit) => hit.message.message_id,
    );
  }

  beforeAll(async () => {
    receiver = await WebhookReceiver.start();
    stack = new TestStack(
      'edits',
      {
        ...receiver.settings(),
      },
      engine,
    );
    act = messageActions(stack);
    await stack.startRouter();
    api = await stack.http();
    await stack.createGroup('group-crew', 'alice', ['alice', 'bob', 'carol']);
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

  it('the author edits: every party sees the new text live, stored, in history and search, once as a webhook', async () => {
    const sent = await act.send(alice, 'alice', bob, 'bob', { text: 'the pelican flies' });
    const id = sent.message_id;
    await alice.publish(act.changeTopic('alice', 'bob', id, 'edit'), { text: 'the albatross flies' });
    const forBob = await bob.waitFor(act.updated('bob', 'alice', id, 'edited'));
    const forAlice = await alice.waitFor(act.updated('alice', 'bob', id, 'edited'));
    for (const [event, owner, status] of [
      [forBob, 'bob', 150],
      [forAlice, 'alice', 100],
    ] as const) {
      expect(event.payload).toMatchObject({
        message_id: id,
        seq: sent.seq,
        text: 'the albatross flies',
        sender: 'alice',
        timelineOf: owner,
        status,
        change: 'edited',
      });
      expect(event.payload.edited_at).toEqual(expect.any(Number));
    }
    // It was the last message: both conversation entries show the new text.
    const entry = await bob.waitFor(
      (m) =>
        m.topic === stack.topic('users', 'bob', 'conversations', 'alice', 'clientupdated') &&
        m.payload.last_message_text === 'the albatross flies',
    );
    expect(entry.payload).toMatchObject({ message_id: id, edited_at: forBob.payload.edited_at });
    const stored = await act.stored(id);
    expect(stored.message[0]).toMatchObject({ seq: sent.seq, text: 'the albatross flies' });
    expect(stored.versions).toHaveLength(1);
    expect(stored.versions[0].body.text).toBe('the pelican flies');
    expect((await history('bob', 'alice')).find((m) => m.message_id === id)).toMatchObject({
      text: 'the albatross flies',
      seq: sent.seq,
    });
    expect(await search('bob', 'albatross')).toContain(id);
    expect(await search('bob', 'pelican')).not.toContain(id);
    await expect.poll(() => hooks('message-edited', id).length, { timeout: 10_000 }).toBe(1);
    expect(hooks('message-edited', id)[0]!.body.data).toMatchObject({
      text: 'the albatross flies',
      seq: sent.seq,
    });

    // A replay of the same edit writes nothing: no new version, no second webhook.
    const before = await act.stored(id);
    await alice.publish(act.changeTopic('alice', 'bob', id, 'edit'), { text: 'the albatross flies' });
    await bob.waitForCount(act.updated('bob', 'alice', id, 'edited'), 2);
    expect(await act.stored(id)).toEqual(before);
    expect(hooks('message-edited', id)).toHaveLength(1);
  });

  it("refuses someone else's message, another conversation, unknown ids, oversized and nested edits; nothing changes", async () => {
    const sent = await act.send(alice, 'alice', bob, 'bob', { text: 'mine to change' });
    const id = sent.message_id;
    const stored = () => act.stored(id);
    // Bob is a party but not the author.
    await act.expectRefused(
      bob,
      'bob',
      act.changeTopic('bob', 'alice', id, 'edit'),
      { text: 'x' },
      'not_author',
      id,
      stored,
    );
    await act.expectRefused(
      bob,
      'bob',
      act.changeTopic('bob', 'alice', id, 'delete'),
      {},
      'not_author',
      id,
      stored,
    );
    // Carol is not in the conversation: whatever she names, the message does not exist for her.
    for (const cw of ['alice', 'bob']) {
      await act.expectRefused(
        carol,
        'carol',
        act.changeTopic('carol', cw, id, 'edit'),
        { text: 'x' },
        'message_not_found',
        id,
        stored,
      );
      await act.expectRefused(
        carol,
        'carol',
        act.changeTopic('carol', cw, id, 'delete'),
        {},
        'message_not_found',
        id,
        stored,
      );
    }
    // Alice names the wrong conversation (her group) or an unknown id.
    await act.expectRefused(
      alice,
      'alice',
      act.changeTopic('alice', 'group-crew', id, 'edit'),
      { text: 'x' },
      'message_not_found',
      id,
      stored,
    );
    const unknown = 'no-such-message';
    await act.expectRefused(
      alice,
      'alice',
      act.changeTopic('alice', 'bob', unknown, 'edit'),
      { text: 'x' },
      'message_not_found',
      unknown,
      stored,
    );
    // Over the payload limit, deeply nested attributes, a bad shape.
    const huge = { text: 'x'.repeat(70 * 1024) };
    await act.expectRefused(
      alice,
      'alice',
      act.changeTopic('alice', 'bob', id, 'edit'),
      huge,
      'payload_too_large',
      id,
      stored,
    );
    let nested: Record<string, unknown> = {};
    for (let i = 0; i < 40; i++) nested = { n: nested };
    await act.expectRefused(
      alice,
      'alice',
      act.changeTopic('alice', 'bob', id, 'edit'),
      { text: 'y', attributes: nested },
      'invalid_payload',
      id,
      stored,
    );
    await act.expectRefused(
      alice,
      'alice',
      act.changeTopic('alice', 'bob', id, 'edit'),
      { text: 42 },
      'invalid_payload',
      id,
      stored,
    );
    await act.expectRefused(
      alice,
      'alice',
      act.changeTopic('alice', 'bob', id, 'delete'),
      { for: 'nobody' },
      'invalid_payload',
      id,
      stored,
    );
    // Everyone else keeps being served.
    const next = await act.send(bob, 'bob', alice, 'alice', { text: 'still here' });
    expect(next.seq).toBe(sent.seq + 1);
  });

  it('delete for everyone: a tombstone keeping its seq, everywhere; edits and reactions to it refused', async () => {
    const first = await act.send(alice, 'alice', bob, 'bob', {
      text: 'regrettable walrus',
      attributes: { x: 1 },
    });
    const id = first.message_id;
    await alice.publish(act.changeTopic('alice', 'bob', id, 'delete'), { for: 'everyone' });
    for (const [client, user, cw] of [
      [bob, 'bob', 'alice'],
      [alice, 'alice', 'bob'],
    ] as const) {
      const event = await client.waitFor(act.updated(user, cw, id, 'deleted'));
      expect(event.payload).toMatchObject({
        message_id: id,
        seq: first.seq,
        text: '',
        type: 'text',
        timelineOf: user,
      });
      expect(event.payload.deleted_at).toEqual(expect.any(Number));
      expect(event.payload.attributes).toBeUndefined();
    }
    const stored = await act.stored(id);
    expect(stored.message[0]).toMatchObject({ seq: first.seq, text: '' });
    expect(stored.message[0].deleted_at).toEqual(expect.any(Number));
    expect(stored.versions.map((v: { body: { text: string } }) => v.body.text)).toEqual([
      'regrettable walrus',
    ]);
    const inHistory = (await history('bob', 'alice')).find((m) => m.message_id === id);
    expect(inHistory).toMatchObject({ seq: first.seq, text: '' });
    expect(inHistory?.deleted_at).toEqual(expect.any(Number));
    expect(await search('bob', 'walrus')).not.toContain(id);
    await expect.poll(() => hooks('message-deleted', id).length, { timeout: 10_000 }).toBe(1);
    expect(hooks('message-deleted', id)[0]!.body.data).toMatchObject({ for: 'everyone', text: '' });

    const tomb = () => act.stored(id);
    await act.expectRefused(
      alice,
      'alice',
      act.changeTopic('alice', 'bob', id, 'edit'),
      { text: 'back' },
      'message_deleted',
      id,
      tomb,
    );
    await act.expectRefused(
      bob,
      'bob',
      act.changeTopic('bob', 'alice', id, 'react'),
      { reaction: '👍', action: 'add' },
      'message_deleted',
      id,
      tomb,
    );
    // Deleting it again is a replay: nothing changes, no second webhook.
    const before = await tomb();
    await alice.publish(act.changeTopic('alice', 'bob', id, 'delete'), {});
    await bob.waitForCount(act.updated('bob', 'alice', id, 'deleted'), 2);
    expect(await tomb()).toEqual(before);
    expect(hooks('message-deleted', id)).toHaveLength(1);
  });

  it('delete for me hides the message from one timeline only', async () => {
    const sent = await act.send(alice, 'alice', bob, 'bob', { text: 'hide this narwhal' });
    const id = sent.message_id;
    await bob.publish(act.changeTopic('bob', 'alice', id, 'delete'), { for: 'me' });
    const event = await bob.waitFor(act.updated('bob', 'alice', id, 'hidden'));
    expect(event.payload).toEqual({
      timelineOf: 'bob',
      message_id: id,
      seq: sent.seq,
      status: 150,
      change: 'hidden',
    });
    expect((await act.stored(id)).hidden).toEqual([{ user_id: 'bob' }]);
    expect((await history('bob', 'alice')).find((m) => m.message_id === id)).toEqual({
      message_id: id,
      seq: sent.seq,
      hidden: true,
    });
    expect((await history('alice', 'bob')).find((m) => m.message_id === id)).toMatchObject({
      text: 'hide this narwhal',
    });
    expect(await search('bob', 'narwhal')).not.toContain(id);
    expect(await search('alice', 'narwhal')).toContain(id);
    // Hidden from bob: it no longer exists for him.
    await act.expectRefused(
      bob,
      'bob',
      act.changeTopic('bob', 'alice', id, 'react'),
      { reaction: '👍', action: 'add' },
      'message_not_found',
      id,
      () => act.stored(id),
    );
    expect(alice.received.some(act.updated('alice', 'bob', id))).toBe(false);
  });

  it("delete for me of the last message: the user's entry shows their newest visible message (or an empty one), others' are unchanged", async () => {
    const entryRow = async (owner: string, cw: string) =>
      (
        await stack.sql.query(
          'SELECT last_message FROM conversations WHERE app_id = $1 AND owner = $2 AND convers_with = $3',
          [stack.app, owner, cw],
        )
      ).rows[0].last_message as Record<string, unknown>;
    const entryEvent =
      (owner: string, cw: string, check: (p: Record<string, unknown>) => boolean) =>
      (m: { topic: string; payload: Record<string, unknown> }) =>
        m.topic === stack.topic('users', owner, 'conversations', cw, 'clientupdated') && check(m.payload);
    const first = await act.send(carol, 'carol', bob, 'bob', { text: 'first walrus' });
    const second = await act.send(bob, 'bob', carol, 'carol', { text: 'second walrus' });
    const bobEntries = bob.received.filter((m) => m.topic.includes('/conversations/carol/')).length;
    await carol.publish(act.changeTopic('carol', 'bob', second.message_id, 'delete'), { for: 'me' });
    await carol.waitFor(act.updated('carol', 'bob', second.message_id, 'hidden'));
    const carolEntry = await carol.waitFor(
      entryEvent('carol', 'bob', (p) => p.message_id === first.message_id),
    );
    expect(carolEntry.payload).toMatchObject({ last_message_text: 'first walrus', timelineOf: 'carol' });
    expect((await entryRow('carol', 'bob')).message_id).toBe(first.message_id);
    expect((await entryRow('bob', 'carol')).message_id).toBe(second.message_id);
    // Bob's entry stays as it was, and nobody else heard of it.
    expect(bob.received.filter((m) => m.topic.includes('/conversations/carol/')).length).toBe(bobEntries);
    // The older message is deleted for everyone: her entry shows its tombstone.
    await carol.publish(act.changeTopic('carol', 'bob', first.message_id, 'delete'), {});
    await carol.waitFor(
      entryEvent('carol', 'bob', (p) => p.message_id === first.message_id && p.last_message_text === ''),
    );
    expect((await entryRow('carol', 'bob')).deleted_at).toEqual(expect.any(Number));
    // Hiding that too leaves nothing to show: an empty entry without a message id.
    await carol.publish(act.changeTopic('carol', 'bob', first.message_id, 'delete'), { for: 'me' });
    const empty = await carol.waitFor(
      entryEvent('carol', 'bob', (p) => p.hidden === true && p.last_message_text === ''),
    );
    expect(empty.payload.message_id).toBeUndefined();
    // A later edit of the hidden message never brings it back into her entry.
    await bob.publish(act.changeTopic('bob', 'carol', second.message_id, 'edit'), { text: 'second, edited' });
    await bob.waitFor(entryEvent('bob', 'carol', (p) => p.last_message_text === 'second, edited'));
    expect(await entryRow('carol', 'bob')).toMatchObject({ text: '', hidden: true });
    // A replay finds no message (it is hidden from her): refused, no entry published.
    const carolEntries = carol.received.filter((m) => m.topic.includes('/conversations/bob/')).length;
    await carol.publish(act.changeTopic('carol', 'bob', first.message_id, 'delete'), { for: 'me' });
    await carol.waitFor(act.refused('carol', 'message_not_found', first.message_id));
    expect(carol.received.filter((m) => m.topic.includes('/conversations/bob/')).length).toBe(carolEntries);
  });

  it("the broker refuses a change published in another user's namespace: the connection closes, nothing changes", async () => {
    const id = (await act.send(alice, 'alice', bob, 'bob', { text: 'not yours' })).message_id;
    const before = await act.stored(id);
    for (const action of ['edit', 'delete', 'react'] as const) {
      const intruder = await stack.client(`mallory-${action}`);
      intruder
        .publish(act.changeTopic('alice', 'bob', id, action), {
          text: 'forged',
          reaction: '👍',
          action: 'add',
        })
        .catch(() => {});
      await intruder.waitForClose();
    }
    // The router saw nothing: a later change by the author is processed, the forged ones never were.
    await alice.publish(act.changeTopic('alice', 'bob', id, 'edit'), { text: 'still mine' });
    await bob.waitFor(act.updated('bob', 'alice', id, 'edited'));
    const after = await act.stored(id);
    expect(after.versions.map((v: { body: { text: string } }) => v.body.text)).toEqual([
      before.message[0].text,
    ]);
    expect(after.reactions).toEqual([]);
    expect(after.message[0].deleted_at).toBeNull();
  });

  it("a group's owner deletes a member's message; another member may not", async () => {
    await carol.publish(stack.outgoing('carol', 'group-crew'), { text: 'off-topic', channel_type: 'group' });
    const copy = await alice.waitFor((m) => m.payload.text === 'off-topic');
    const id = copy.payload.message_id as string;
    await act.expectRefused(
      bob,
      'bob',
      act.changeTopic('bob', 'group-crew', id, 'delete'),
      {},
      'not_author',
      id,
      () => act.stored(id),
    );
    await alice.publish(act.changeTopic('alice', 'group-crew', id, 'delete'), {});
    for (const [client, user] of [
      [alice, 'alice'],
      [bob, 'bob'],
      [carol, 'carol'],
    ] as const) {
      const event = await client.waitFor(act.updated(user, 'group-crew', id, 'deleted'));
      expect(event.payload).toMatchObject({ text: '', seq: copy.payload.seq, timelineOf: user });
    }
  });
});
