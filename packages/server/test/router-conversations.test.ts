import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Received, TestClient } from './support/mqtt-client.js';
import { ENGINES, TestStack } from './support/stack.js';

describe.each(ENGINES)('conversations: read, archive, unarchive (%s)', (engine) => {
  const stack = new TestStack('convs', {}, engine);
  let lea: TestClient;
  let max: TestClient;

  const event =
    (user: string, ...levels: string[]) =>
    (m: Received) =>
      m.topic === stack.topic('users', user, ...levels);
  const row = async (owner: string, cw: string) =>
    (
      await stack.sql.query(
        'SELECT unread_count, is_new, archived, read_seq, last_seq FROM conversations WHERE app_id = $1 AND owner = $2 AND convers_with = $3',
        [stack.app, owner, cw],
      )
    ).rows[0];

  beforeAll(async () => {
    await stack.startRouter();
    [lea, max] = await Promise.all([stack.client('lea'), stack.client('max')]);
    for (const text of ['one', 'two', 'three']) await max.publish(stack.outgoing('max', 'lea'), { text });
    await lea.waitForCount((m) => m.topic.endsWith('/clientadded') && m.payload.sender === 'max', 3);
  });
  afterAll(() => stack.close());

  it('marking a conversation read (is_new: false) clears its unread count and echoes the change', async () => {
    expect(await row('lea', 'max')).toMatchObject({ unread_count: 3, is_new: true });
    await lea.publish(stack.topic('users', 'lea', 'conversations', 'max', 'update'), {
      is_new: false,
      hacked: true,
    });
    const echo = await lea.waitFor(event('lea', 'conversations', 'max', 'clientupdated'));
    expect(echo.payload).toEqual({
      is_new: false,
      timelineOf: 'lea',
      conversWith: 'max',
      unread_count: 0,
      read_seq: 3,
    });
    expect(await row('lea', 'max')).toMatchObject({ unread_count: 0, is_new: false, read_seq: 3 });
  });

  it('refuses a patch without is_new, and a patch of a conversation that does not exist', async () => {
    await lea.publish(stack.topic('users', 'lea', 'conversations', 'max', 'update'), { archived: true });
    await lea.waitFor(
      (m) => event('lea', 'errors', 'clientadded')(m) && m.payload.code === 'invalid_payload',
    );
    await lea.publish(stack.topic('users', 'lea', 'conversations', 'nobody', 'update'), { is_new: false });
    await lea.waitFor(
      (m) => event('lea', 'errors', 'clientadded')(m) && m.payload.code === 'conversation_not_found',
    );
    const { rows } = await stack.sql.query(
      `SELECT count(*)::int AS n FROM conversations WHERE convers_with = 'nobody'`,
    );
    expect(rows[0].n).toBe(0);
  });

  it('archiving moves the conversation to the archived list with both Chat21 events', async () => {
    await lea.publish(stack.topic('users', 'lea', 'conversations', 'max', 'archive'), {});
    const deleted = await lea.waitFor(event('lea', 'conversations', 'max', 'clientdeleted'));
    const added = await lea.waitFor(event('lea', 'archived_conversations', 'max', 'clientadded'));
    expect(deleted.payload).toMatchObject({
      timelineOf: 'lea',
      conversWith: 'max',
      key: 'max',
      archived: true,
      last_message_text: 'three',
    });
    expect(added.payload).toEqual(deleted.payload);
    expect(await row('lea', 'max')).toMatchObject({ archived: true });
    expect(await row('max', 'lea')).toMatchObject({ archived: false });
  });

  it('a new message brings the conversation back and says so (the event Chat21 never sends)', async () => {
    await max.publish(stack.outgoing('max', 'lea'), { text: 'are you there?' });
    const back = await lea.waitFor(event('lea', 'archived_conversations', 'max', 'clientdeleted'));
    expect(back.payload).toMatchObject({
      archived: false,
      last_message_text: 'are you there?',
      unread_count: 1,
    });
    await lea.waitFor(event('lea', 'conversations', 'max', 'clientadded'));
    expect(await row('lea', 'max')).toMatchObject({ archived: false, unread_count: 1 });
  });

  it('unarchive by hand, with its events', async () => {
    await lea.publish(stack.topic('users', 'lea', 'conversations', 'max', 'archive'), {});
    await lea.waitForCount(event('lea', 'archived_conversations', 'max', 'clientadded'), 2);
    await lea.publish(stack.topic('users', 'lea', 'conversations', 'max', 'unarchive'), {});
    await lea.waitForCount(event('lea', 'archived_conversations', 'max', 'clientdeleted'), 2);
    await lea.waitForCount(event('lea', 'conversations', 'max', 'clientadded'), 2);
    expect(await row('lea', 'max')).toMatchObject({ archived: false });
  });
});
