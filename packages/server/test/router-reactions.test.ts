import type { FastifyInstance } from 'fastify';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { messageActions } from './support/message-actions.js';
import type { TestClient } from './support/mqtt-client.js';
import { ENGINES, TestStack } from './support/stack.js';
import { WebhookReceiver } from './support/webhook-receiver.js';

// Issue 15: reactions, over MQTT from three group members and an outsider, on both engines.
describe.each(ENGINES)('reactions (%s)', (engine) => {
  let receiver: WebhookReceiver;
  let stack: TestStack;
  let act: ReturnType<typeof messageActions>;
  let api: FastifyInstance;
  let alice: TestClient;
  let bob: TestClient;
  let carol: TestClient;
  let dave: TestClient;
  const GROUP = 'group-fans';

  const hooks = (id: string) =>
    receiver.requests.filter((r) => r.body.event_type === 'message-reaction' && r.body.message_id === id);
  const react = (client: TestClient, user: string, id: string, reaction: unknown, action = 'add') =>
    client.publish(act.changeTopic(user, GROUP, id, 'react'), { reaction, action });
  async function groupMessage(text: string) {
    return act.send(alice, 'alice', bob, GROUP, { text, channel_type: 'group' });
  }
  /** Waits until every member's latest reactions event says `reactions`. */
  async function everyoneSees(id: string, reactions: unknown) {
    for (const [client, user] of [
      [alice, 'alice'],
      [bob, 'bob'],
      [carol, 'carol'],
    ] as const) {
      await client.waitUntil(
        () => {
          const events = client.received.filter(act.updated(user, GROUP, id, 'reactions'));
          const last = events[events.length - 1];
          return (
            last !== undefined && JSON.stringify(last.payload.reactions ?? {}) === JSON.stringify(reactions)
          );
        },
        10_000,
        () => `${user} never saw ${JSON.stringify(reactions)}`,
      );
    }
  }

  beforeAll(async () => {
    receiver = await WebhookReceiver.start();
    stack = new TestStack(
      'reacts',
      {
        ...receiver.settings(),
        MERCURIO_REACTIONS_PER_MESSAGE_MAX: '3',
        MERCURIO_REACTIONS_PER_USER_MAX: '2',
      },
      engine,
    );
    act = messageActions(stack);
    await stack.startRouter();
    api = await stack.http();
    await stack.createGroup(GROUP, 'alice', ['alice', 'bob', 'carol']);
    [alice, bob, carol, dave] = (await Promise.all(
      ['alice', 'bob', 'carol', 'dave'].map((u) => stack.client(u)),
    )) as [TestClient, TestClient, TestClient, TestClient];
  });
  afterAll(async () => {
    await stack.close();
    await receiver.close();
  });

  it('counts and first users on every copy, live, stored, in history; idempotent both ways; one webhook per change', async () => {
    const sent = await groupMessage('react to me');
    const id = sent.message_id;
    await react(bob, 'bob', id, '👍');
    await everyoneSees(id, { '👍': { count: 1, users: ['bob'] } });
    await react(carol, 'carol', id, '👍');
    await everyoneSees(id, { '👍': { count: 2, users: ['bob', 'carol'] } });
    await react(bob, 'bob', id, '❤️');
    const both = { '👍': { count: 2, users: ['bob', 'carol'] }, '❤️': { count: 1, users: ['bob'] } };
    await everyoneSees(id, both);
    const event = bob.received.filter(act.updated('bob', GROUP, id, 'reactions')).pop()!;
    expect(event.payload).toMatchObject({
      message_id: id,
      seq: sent.seq,
      text: 'react to me',
      timelineOf: 'bob',
    });
    expect((await act.stored(id)).reactions).toEqual([
      { reaction: '❤️', user_id: 'bob' },
      { reaction: '👍', user_id: 'bob' },
      { reaction: '👍', user_id: 'carol' },
    ]);
    const page = await api.inject({
      method: 'GET',
      url: `/api/v1/apps/${stack.app}/users/carol/conversations/${GROUP}/messages`,
      headers: { authorization: `Bearer ${await stack.token('carol')}` },
    });
    expect(page.json().result.find((m: { message_id: string }) => m.message_id === id).reactions).toEqual(
      both,
    );
    await expect.poll(() => hooks(id).length, { timeout: 10_000 }).toBe(3);
    expect(hooks(id)[2]!.body.data).toMatchObject({
      reaction: '❤️',
      action: 'add',
      user_id: 'bob',
      reactions: both,
    });

    // The same reaction again, and removing one not there: nothing changes, no webhook.
    const before = await act.stored(id);
    await react(bob, 'bob', id, '👍');
    await react(alice, 'alice', id, '👍', 'remove');
    await bob.waitForCount(act.updated('bob', GROUP, id, 'reactions'), 5);
    expect(await act.stored(id)).toEqual(before);
    await react(bob, 'bob', id, '👍', 'remove');
    await everyoneSees(id, { '👍': { count: 1, users: ['carol'] }, '❤️': { count: 1, users: ['bob'] } });
    await expect.poll(() => hooks(id).length, { timeout: 10_000 }).toBe(4);

    // Deleted for everyone: the reactions go with it.
    await alice.publish(act.changeTopic('alice', GROUP, id, 'delete'), {});
    await carol.waitFor(act.updated('carol', GROUP, id, 'deleted'));
    const tomb = await act.stored(id);
    expect(tomb.reactions).toEqual([]);
    expect(tomb.message[0].body.reactions).toBeUndefined();
  });

  it('limits per message and per user', async () => {
    const id = (await groupMessage('limited')).message_id;
    await react(bob, 'bob', id, '👍');
    await react(bob, 'bob', id, '❤️');
    await everyoneSees(id, { '👍': { count: 1, users: ['bob'] }, '❤️': { count: 1, users: ['bob'] } });
    const stored = () => act.stored(id);
    const topic = act.changeTopic('bob', GROUP, id, 'react');
    await act.expectRefused(
      bob,
      'bob',
      topic,
      { reaction: '😂', action: 'add' },
      'too_many_reactions',
      id,
      stored,
    );
    await react(carol, 'carol', id, '😂');
    await everyoneSees(id, {
      '👍': { count: 1, users: ['bob'] },
      '❤️': { count: 1, users: ['bob'] },
      '😂': { count: 1, users: ['carol'] },
    });
    const aliceTopic = act.changeTopic('alice', GROUP, id, 'react');
    await act.expectRefused(
      alice,
      'alice',
      aliceTopic,
      { reaction: '🎉', action: 'add' },
      'too_many_reactions',
      id,
      stored,
    );
    // An emoji already there is not a new distinct reaction.
    await react(alice, 'alice', id, '👍');
    await everyoneSees(id, {
      '👍': { count: 2, users: ['bob', 'alice'] },
      '❤️': { count: 1, users: ['bob'] },
      '😂': { count: 1, users: ['carol'] },
    });
  });

  it('refuses what is not one emoji, and anyone outside the conversation; nothing changes', async () => {
    const id = (await groupMessage('careful')).message_id;
    const stored = () => act.stored(id);
    const topic = act.changeTopic('bob', GROUP, id, 'react');
    for (const reaction of ['ab', '👍👍', 'like', '👍'.repeat(2500)]) {
      await act.expectRefused(bob, 'bob', topic, { reaction, action: 'add' }, 'invalid_reaction', id, stored);
    }
    await act.expectRefused(
      bob,
      'bob',
      topic,
      { reaction: 42, action: 'add' },
      'invalid_payload',
      id,
      stored,
    );
    await act.expectRefused(
      bob,
      'bob',
      topic,
      { reaction: '👍', action: 'toggle' },
      'invalid_payload',
      id,
      stored,
    );
    // Dave is no member: the group's message does not exist for him, whatever conversation he names.
    for (const cw of [GROUP, 'alice']) {
      const daveTopic = act.changeTopic('dave', cw, id, 'react');
      await act.expectRefused(
        dave,
        'dave',
        daveTopic,
        { reaction: '👍', action: 'add' },
        'message_not_found',
        id,
        stored,
      );
    }
    // A direct message between alice and bob, for carol.
    const direct = (await act.send(alice, 'alice', bob, 'bob', { text: 'just us' })).message_id;
    const carolTopic = act.changeTopic('carol', 'alice', direct, 'react');
    await act.expectRefused(
      carol,
      'carol',
      carolTopic,
      { reaction: '👍', action: 'add' },
      'message_not_found',
      direct,
      () => act.stored(direct),
    );
  });
});
