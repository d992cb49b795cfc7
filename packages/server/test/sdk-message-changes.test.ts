import { randomUUID } from 'node:crypto';
import type { ChatMessage, MercurioActionError } from '@mercurio/sdk';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { SdkHarness, type SdkUser } from './support/sdk.js';
import { ENGINES, TestStack } from './support/stack.js';

/**
 * Issue 15 through the SDK, with two or three real clients on each engine: every action's live
 * event on the other clients (and the very object they hold updated in place), what history
 * says afterwards, and every refusal reaching the caller as a MercurioActionError with its
 * stable code, with nothing changed.
 */
describe.each(ENGINES)('SDK: edit, delete, reply, react, mention (%s)', (engine) => {
  const stack = new TestStack(
    'sdkchg',
    { MERCURIO_HTTP_PORT: '0', MERCURIO_REACTIONS_PER_USER_MAX: '3' },
    engine,
  );
  const sdk = new SdkHarness(stack);
  let alice: SdkUser;
  let bob: SdkUser;
  let carol: SdkUser;

  beforeAll(async () => {
    await stack.startRouter({ http: true });
    [alice, bob, carol] = await Promise.all([sdk.connect('alice'), sdk.connect('bob'), sdk.connect('carol')]);
  }, 120_000);
  afterAll(async () => {
    await sdk.close();
    await stack.close();
  });

  /** Sends and waits until `to` has it; returns what `to` holds. */
  async function sent(
    from: SdkUser,
    to: SdkUser,
    conversWith: string,
    text: string,
    options: { replyTo?: string; mentions?: string[]; group?: boolean } = {},
  ): Promise<ChatMessage> {
    const { message_id } = await from.client.send(conversWith, { text, ...options });
    return (await to.waitFor('message', (m) => m.message.message_id === message_id)).message;
  }
  const refusal = (promise: Promise<unknown>) =>
    promise.then(
      () => {
        throw new Error('expected a refusal');
      },
      (error: MercurioActionError) => ({ name: error.name, code: error.code }),
    );

  it('an edit reaches the other side live, updates the held message and its quotes, and history', async () => {
    const original = await sent(alice, bob, 'bob', 'meet at the harbour');
    const reply = await sent(bob, bob, 'alice', 'which harbour?', { replyTo: original.message_id });
    expect(reply.quote).toMatchObject({ message_id: original.message_id, text: 'meet at the harbour' });

    const edited = await alice.client.editMessage('bob', original.message_id, 'meet at the station');
    expect(edited).toMatchObject({ text: 'meet at the station', seq: original.seq });
    expect(edited?.edited_at).toEqual(expect.any(Number));
    const change = await bob.waitFor(
      'messageChanged',
      (c) => c.messageId === original.message_id && c.change === 'edited',
    );
    expect(change).toMatchObject({ conversWith: 'alice', kind: 'direct' });
    expect(change.message).toBe(original); // the object bob was handed, updated in place
    expect(original).toMatchObject({ text: 'meet at the station', edited_at: edited?.edited_at });
    expect(change.replies).toContain(reply);
    expect(reply.quote?.text).toBe('meet at the station');

    const page = await bob.client.history('alice');
    expect(page.messages.find((m) => m.message_id === original.message_id)).toMatchObject({
      text: 'meet at the station',
      edited_at: expect.any(Number),
    });
    expect(page.messages.find((m) => m.message_id === reply.message_id)?.quote?.text).toBe(
      'meet at the station',
    );
    expect((await bob.client.search('station')).map((h) => h.message.message_id)).toContain(
      original.message_id,
    );
    expect((await bob.client.search('harbour')).map((h) => h.message.message_id)).not.toContain(
      original.message_id,
    );
  });

  it('delete for everyone leaves a tombstone with its seq; delete for me hides it from one user only', async () => {
    const doomed = await sent(alice, bob, 'bob', 'a secret plan');
    const reply = await sent(bob, bob, 'alice', 'tell me more', { replyTo: doomed.message_id });
    const kept = await sent(alice, bob, 'bob', 'nothing to see');

    const tombstone = await alice.client.deleteMessage('bob', doomed.message_id);
    expect(tombstone).toMatchObject({ text: '', seq: doomed.seq, deleted_at: expect.any(Number) });
    const change = await bob.waitFor(
      'messageChanged',
      (c) => c.messageId === doomed.message_id && c.change === 'deleted',
    );
    expect(change.message).toBe(doomed);
    expect(doomed).toMatchObject({ text: '', seq: tombstone?.seq });
    expect(doomed.reactions).toBeUndefined();
    expect(reply.quote).toMatchObject({ text: '', deleted: true });
    expect((await bob.client.search('secret')).length).toBe(0);

    await bob.client.deleteMessage('alice', kept.message_id, { for: 'me' });
    const hidden = await bob.waitFor('messageChanged', (c) => c.messageId === kept.message_id);
    expect(hidden).toMatchObject({ change: 'hidden', seq: kept.seq });
    const bobs = await bob.client.history('alice');
    expect(bobs.messages.map((m) => m.message_id)).not.toContain(kept.message_id);
    expect(bobs.hidden).toContainEqual({ message_id: kept.message_id, seq: kept.seq });
    expect(bobs.lastSeq).toBeGreaterThanOrEqual(kept.seq); // the seq stays taken: no gap
    const alices = await alice.client.history('bob');
    expect(alices.messages.find((m) => m.message_id === kept.message_id)?.text).toBe('nothing to see');
    expect(alices.messages.find((m) => m.message_id === doomed.message_id)).toMatchObject({
      text: '',
      deleted_at: expect.any(Number),
    });
    // alice never heard of bob's private delete.
    expect(alice.of('messageChanged').some((c) => c.messageId === kept.message_id)).toBe(false);
  });

  it('reactions: live counts and who, adding twice is one, removing takes it away', async () => {
    const target = await sent(alice, bob, 'bob', 'party on friday');
    const counted = await bob.client.react('alice', target.message_id, '🎉');
    expect(counted?.reactions).toEqual({ '🎉': { count: 1, users: ['bob'] } });
    await alice.waitFor(
      'messageChanged',
      (c) => c.messageId === target.message_id && c.message?.reactions?.['🎉']?.count === 1,
    );
    await alice.client.react('bob', target.message_id, '🎉');
    const both = await bob.waitFor(
      'messageChanged',
      (c) => c.messageId === target.message_id && c.message?.reactions?.['🎉']?.count === 2,
    );
    expect(both.message).toBe(target);
    expect(target.reactions?.['🎉']?.users).toEqual(['bob', 'alice']);

    // Twice is once: the count stays (the server may or may not send an unchanged copy).
    await bob.client.react('alice', target.message_id, '🎉').catch(() => undefined);
    await bob.client.unreact('alice', target.message_id, '🎉');
    await alice.waitFor(
      'messageChanged',
      (c) => c.messageId === target.message_id && c.message?.reactions?.['🎉']?.count === 1,
    );
    const page = await alice.client.history('bob');
    expect(page.messages.find((m) => m.message_id === target.message_id)?.reactions).toEqual({
      '🎉': { count: 1, users: ['alice'] },
    });
  });

  it('replies and mentions in a group: quote, mention flag for the mentioned only, the thread view', async () => {
    const group = await alice.client.createGroup({ name: 'Crew', members: ['bob', 'carol'] });
    const gid = group.uid;
    await carol.waitFor('message', (m) => m.conversWith === gid);
    const question = await sent(alice, carol, gid, 'who brings the cake?', { group: true });
    const answer = await sent(bob, carol, gid, '@carol does', {
      group: true,
      replyTo: question.message_id,
      mentions: ['carol', 'mallory'], // not a member: dropped
    });
    expect(answer).toMatchObject({ reply_to: question.message_id, mentions: ['carol'], mentioned: true });
    expect(answer.quote).toMatchObject({ message_id: question.message_id, sender: 'alice' });
    const alicesCopy = await alice.waitFor('message', (m) => m.message.message_id === answer.message_id);
    expect(alicesCopy.message.mentioned).not.toBe(true);

    const replies = await carol.client.replies(gid, question.message_id);
    expect(replies.messages.map((m) => m.message_id)).toEqual([answer.message_id]);

    // The group's owner deletes bob's message for everyone.
    await alice.client.deleteMessage(gid, answer.message_id);
    await carol.waitFor('messageChanged', (c) => c.messageId === answer.message_id && c.change === 'deleted');
    expect(answer.text).toBe('');
  });

  it('offline: an action waits in the outbox and settles once back; a change made meanwhile reaches the held message', async () => {
    const { proxy, endpoint } = await sdk.proxy();
    const dave = await sdk.connect('dave', { endpoint });
    const erin = await sdk.connect('erin');
    const draft = await sent(erin, dave, 'dave', 'draft words');

    proxy.cut();
    await dave.waitFor('state', (s) => s.new === 'reconnecting');
    const reaction = dave.client.react('erin', draft.message_id, '👀');
    await erin.client.editMessage('dave', draft.message_id, 'final words');
    expect(draft.text).toBe('draft words'); // dave is away
    proxy.restore();

    const answered = await reaction;
    expect(answered).toBe(draft); // the held object, with the edit that came while away
    expect(draft).toMatchObject({ text: 'final words', reactions: { '👀': { count: 1, users: ['dave'] } } });
    await erin.waitFor(
      'messageChanged',
      (c) => c.messageId === draft.message_id && c.message?.reactions?.['👀']?.count === 1,
    );
  });

  it('an edit and a reaction made right after send() wait for the own copy, then land (never message_not_found)', async () => {
    const fred = await sdk.connect('fred');
    const gina = await sdk.connect('gina');
    // The actions are made while the message is still on its way (before even its PUBACK).
    const id = randomUUID();
    // When fred's own copy (stored, with its seq) arrives, no action may be queued or sent yet.
    const isAction = (topic: string) => topic.endsWith(`/${id}/edit`) || topic.endsWith(`/${id}/react`);
    const early: string[] = [];
    fred.client.on('message', ({ message }) => {
      if (message.message_id !== id) return;
      early.push(
        ...fred.client
          .pending()
          .map((entry) => entry.topic)
          .filter(isAction),
      );
      early.push(
        ...fred
          .of('sent')
          .map((sent) => sent.topic)
          .filter(isAction),
      );
    });
    const [, edited, reacted] = await Promise.all([
      fred.client.send('gina', { text: 'typo in this mesage', messageId: id }),
      fred.client.editMessage('gina', id, 'no typo in this message'),
      fred.client.react('gina', id, '✅'),
    ]);
    expect(edited).toMatchObject({ message_id: id, text: 'no typo in this message' });
    expect(reacted?.reactions?.['✅']?.count).toBe(1);
    await gina.waitFor(
      'messageChanged',
      (c) => c.messageId === id && c.message?.reactions?.['✅']?.count === 1,
    );
    expect(gina.client.heldMessage('fred', id)).toMatchObject({ text: 'no typo in this message' });
    expect(fred.of('message').some((m) => m.message.message_id === id)).toBe(true);
    expect(early).toEqual([]);
    expect(fred.of('error').filter((e) => e.code === 'message_not_found')).toEqual([]);
  });

  it('refusals reach the caller with their code, and nothing changes', async () => {
    const mine = await sent(alice, bob, 'bob', 'only alice may change this');

    expect(await refusal(bob.client.editMessage('alice', mine.message_id, 'hijacked'))).toEqual({
      name: 'MercurioActionError',
      code: 'not_author',
    });
    expect(await refusal(bob.client.deleteMessage('alice', mine.message_id))).toMatchObject({
      code: 'not_author',
    });
    expect(await refusal(alice.client.editMessage('bob', 'no-such-message', 'x'))).toMatchObject({
      code: 'message_not_found',
    });
    // A message of another conversation is unknown here, not "someone else's".
    expect(await refusal(carol.client.react('alice', mine.message_id, '👍'))).toMatchObject({
      code: 'message_not_found',
    });
    for (const bad of ['abc', '👍👍', '', 'x'.repeat(40)])
      expect(await refusal(bob.client.react('alice', mine.message_id, bad))).toMatchObject({
        code: 'invalid_reaction',
      });
    // Payloads an attacker (or a careless client) sends: over the size limit, too deep, of another shape.
    expect(
      await refusal(alice.client.editMessage('bob', mine.message_id, 'x'.repeat(70 * 1024))),
    ).toMatchObject({
      code: 'payload_too_large',
    });
    let deep: Record<string, unknown> = {};
    for (let i = 0; i < 40; i++) deep = { deep };
    expect(
      await refusal(alice.client.editMessage('bob', mine.message_id, { text: 'deep', attributes: deep })),
    ).toMatchObject({ code: 'invalid_payload' });
    expect(
      await refusal(alice.client.editMessage('bob', mine.message_id, { text: 42 } as never)),
    ).toMatchObject({ code: 'invalid_payload' });
    // Three reactions each at most (MERCURIO_REACTIONS_PER_USER_MAX=3): the fourth is refused.
    for (const emoji of ['🍎', '🍐', '🍊']) await bob.client.react('alice', mine.message_id, emoji);
    expect(await refusal(bob.client.react('alice', mine.message_id, '🍋'))).toMatchObject({
      code: 'too_many_reactions',
    });
    for (const emoji of ['🍎', '🍐', '🍊']) await bob.client.unreact('alice', mine.message_id, emoji);

    const gone = await sent(alice, bob, 'bob', 'soon a tombstone');
    await alice.client.deleteMessage('bob', gone.message_id);
    expect(await refusal(alice.client.editMessage('bob', gone.message_id, 'back'))).toMatchObject({
      code: 'message_deleted',
    });
    expect(await refusal(bob.client.react('alice', gone.message_id, '👍'))).toMatchObject({
      code: 'message_deleted',
    });

    // A reply to a message of another conversation is refused like any bad message (its own id).
    const { message_id } = await carol.client.send('bob', { text: 'sneaky', replyTo: mine.message_id });
    const error = await carol.waitFor('error', (e) => e.message_id === message_id);
    expect(error.code).toBe('message_not_found');

    const page = await alice.client.history('bob');
    const stored = page.messages.find((m) => m.message_id === mine.message_id);
    expect(stored).toMatchObject({ text: 'only alice may change this' });
    expect(stored?.edited_at).toBeUndefined();
    expect(stored?.reactions).toBeUndefined();
    expect(mine.text).toBe('only alice may change this');
  });
});
