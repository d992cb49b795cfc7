import { formatTopic } from '@mercurio/protocol';
import { describe, expect, it } from 'vitest';
import { Dedupe } from '../src/dedupe.js';
import { Emitter, type MercurioEvents } from '../src/events.js';
import { SeqTracker } from '../src/gap-fill.js';
import { HeldMessages } from '../src/held-messages.js';
import { InboundDispatch } from '../src/inbound.js';
import { InboxSync } from '../src/inbox-sync.js';
import { ActionWaiters, actionTopic, MercurioActionError } from '../src/message-actions.js';
import { MessageChanges } from '../src/message-changes.js';
import type { ChatMessage } from '../src/message-extras.js';
import { outgoingPayload } from '../src/outgoing.js';

// Edits, deletes and reactions arriving in alice's inbox: the message the app holds changes in
// place, a held reply's quote follows, a change that overtakes its message is not lost, and a
// malformed change never reaches the app.

const APP = 'app';
const ME = 'alice';
const added = formatTopic({ kind: 'messageAdded', app: APP, user: ME, conversWith: 'bob' }, 'mqtt');
const updated = (messageId: string) =>
  formatTopic({ kind: 'messageUpdated', app: APP, user: ME, conversWith: 'bob', messageId }, 'mqtt');

const message = (seq: number, extra: Record<string, unknown> = {}) => ({
  message_id: `m${seq}`,
  sender: 'bob',
  recipient: ME,
  app_id: APP,
  timestamp: 1_700_000_000_000 + seq,
  channel_type: 'direct',
  status: 150,
  seq,
  text: `text ${seq}`,
  type: 'text',
  ...extra,
});

function harness() {
  const emitter = new Emitter();
  const held = new HeldMessages();
  const waiters = new ActionWaiters();
  const messages: ChatMessage[] = [];
  const changes: MercurioEvents['messageChanged'][] = [];
  const receipts: MercurioEvents['messageUpdated'][] = [];
  const invalid: string[] = [];
  emitter.on('message', (e) => messages.push(e.message));
  emitter.on('messageChanged', (e) => changes.push(e));
  emitter.on('messageUpdated', (e) => receipts.push(e));
  emitter.on('error', (e) => invalid.push(e.message));
  const report = (text: string) => invalid.push(text);
  const sync = new InboxSync({
    emitter,
    dedupe: new Dedupe(),
    tracker: new SeqTracker(),
    fetchPage: undefined,
    gapHoldMs: 60_000,
    admit: (cw, m) => held.admit(cw, m),
    error: () => undefined,
  });
  const inbound = new InboundDispatch(
    emitter,
    sync,
    report,
    new MessageChanges(emitter, held, waiters, report),
  );
  const receive = (topic: string, payload: unknown) =>
    inbound.receive(topic, new TextEncoder().encode(JSON.stringify(payload)));
  return { messages, changes, receipts, invalid, receive, waiters, held };
}

describe('message changes in the inbox', () => {
  it('an edit rewrites the held message in place and a held reply quoting it follows', () => {
    const { messages, changes, invalid, receive } = harness();
    receive(added, message(1, { text: 'original words' }));
    receive(
      added,
      message(2, {
        reply_to: 'm1',
        quote: { message_id: 'm1', seq: 1, sender: 'bob', text: 'original words' },
      }),
    );
    const [original, reply] = messages;
    receive(updated('m1'), {
      ...message(1, { text: 'better words', edited_at: 5 }),
      timelineOf: ME,
      change: 'edited',
    });
    expect(invalid).toEqual([]);
    expect(changes).toHaveLength(1);
    expect(changes[0]).toMatchObject({
      change: 'edited',
      conversWith: 'bob',
      kind: 'direct',
      messageId: 'm1',
    });
    expect(changes[0]?.message).toBe(original); // the very object the app holds
    expect(original).toMatchObject({ text: 'better words', edited_at: 5, seq: 1 });
    expect(original).not.toHaveProperty('change');
    expect(original).not.toHaveProperty('timelineOf');
    expect(changes[0]?.replies).toEqual([reply]);
    expect(reply?.quote).toMatchObject({ text: 'better words' });

    // Deleted for everyone: a tombstone; the quote says so; keys the tombstone lacks are gone.
    receive(updated('m1'), {
      ...message(1, { text: '', edited_at: 5, deleted_at: 9 }),
      type: undefined,
      timelineOf: ME,
      change: 'deleted',
    });
    expect(original).toMatchObject({ text: '', deleted_at: 9, seq: 1 });
    expect(reply?.quote).toMatchObject({ text: '', deleted: true });
  });

  it('reactions change the counts; the status a receipt moved on never goes back', () => {
    const { messages, changes, receipts, receive } = harness();
    receive(added, message(1));
    receive(updated('m1'), { timelineOf: ME, message_id: 'm1', status: 250 });
    expect(receipts).toHaveLength(1);
    expect(messages[0]?.status).toBe(250);
    receive(updated('m1'), {
      ...message(1, { reactions: { '👍': { count: 2, users: ['alice', 'bob'] } } }),
      timelineOf: ME,
      change: 'reactions',
    });
    expect(changes.map((c) => c.change)).toEqual(['reactions']);
    expect(messages[0]).toMatchObject({ status: 250, reactions: { '👍': { count: 2 } } });
    // The last reaction removed: the copy has no `reactions`, nor does the held message.
    receive(updated('m1'), { ...message(1), timelineOf: ME, change: 'reactions' });
    expect(messages[0]).not.toHaveProperty('reactions');
    expect(receipts).toHaveLength(1); // a change is not a receipt
  });

  it('hidden for me: the held message is let go; a change that came before its message applies to it', () => {
    const { messages, changes, receive, held } = harness();
    receive(added, message(1));
    receive(updated('m1'), { timelineOf: ME, message_id: 'm1', seq: 1, status: 150, change: 'hidden' });
    expect(changes[0]).toMatchObject({ change: 'hidden', seq: 1, message: messages[0] });
    expect(held.get('bob', 'm1')).toBeUndefined();

    // An edit of m2 overtakes m2 (it waits behind a gap at seq 2 … here: arrives first).
    receive(updated('m3'), {
      ...message(3, { text: 'edited early', edited_at: 1 }),
      timelineOf: ME,
      change: 'edited',
    });
    receive(updated('m4'), { timelineOf: ME, message_id: 'm4', seq: 4, status: 150, change: 'hidden' });
    receive(added, message(2));
    receive(added, message(3));
    receive(added, message(4));
    expect(messages.map((m) => [m.message_id, m.text])).toEqual([
      ['m1', 'text 1'],
      ['m2', 'text 2'],
      ['m3', 'edited early'],
    ]);
  });

  it('a malformed change is dropped and reported; malformed extras are stripped', () => {
    const { messages, changes, invalid, receive } = harness();
    receive(updated('m1'), { timelineOf: ME, change: 'exploded' });
    receive(updated('m1'), { timelineOf: ME, change: 'edited', text: 'no sender' });
    expect(changes).toEqual([]);
    expect(invalid).toHaveLength(2);
    receive(
      added,
      message(1, { reactions: { '👍': { count: 'many' } }, quote: 'not an object', mentions: [1] }),
    );
    expect(messages[0]).not.toHaveProperty('reactions');
    expect(messages[0]).not.toHaveProperty('quote');
    expect(messages[0]).not.toHaveProperty('mentions');
    expect(invalid).toHaveLength(3);
  });
});

describe('actions', () => {
  it('the topics are the receipt topic with another last keyword', () => {
    expect(actionTopic(APP, ME, 'bob', 'm1', 'edit')).toBe('apps/app/users/alice/messages/bob/m1/edit');
    expect(actionTopic(APP, ME, 'bob', 'm1', 'react')).toBe('apps/app/users/alice/messages/bob/m1/react');
  });

  it('a reply and mentions are two top-level keys of an outgoing message', () => {
    expect(outgoingPayload('bob', 'hi @carol', 'id1', { replyTo: 'm1', mentions: ['carol'] })).toMatchObject({
      text: 'hi @carol',
      reply_to: 'm1',
      mentions: ['carol'],
    });
  });

  it('an action settles with its change, or rejects with the code of the refusal on its topic', async () => {
    const waiters = new ActionWaiters();
    const edit = waiters.wait('bob', 'm1', 'edited', 't/edit');
    const react = waiters.wait('bob', 'm1', 'reactions', 't/react');
    const late = waiters.wait('bob', 'm2', 'edited', 't2/edit');
    waiters.changed('bob', 'm1', 'reactions', message(1) as never);
    expect(waiters.refused('t/edit', 'not_author', 'not yours')).toBe(true);
    await expect(react.settled).resolves.toMatchObject({ message_id: 'm1' });
    await expect(edit.settled).rejects.toMatchObject({ code: 'not_author', name: 'MercurioActionError' });
    late.startClock(10);
    const error = await late.settled.catch((e: unknown) => e);
    expect(error).toBeInstanceOf(MercurioActionError);
    expect(error).toMatchObject({ code: 'no_answer' });
    expect(waiters.refused('t/edit', 'x', 'y')).toBe(false);
  });
});
