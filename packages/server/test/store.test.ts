import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { MercurioError } from '../src/errors.js';
import { migrate } from '../src/store/migrate.js';
import type { SqlDatabase } from '../src/store/sql.js';
import { openSqlStore } from '../src/store/sql-store.js';
import type { Store } from '../src/store/store.js';
import { type ConversationDelivery, conversationKey, type NewMessage } from '../src/store/types.js';
import { SQL_DATABASES } from './support/sql-databases.js';

/** One contract, every Store implementation: the same SQL must behave the same on each. */
describe.each(SQL_DATABASES)('Store on %s', (_, open) => {
  let store: Store;
  let db: SqlDatabase;
  const app = `store-${randomUUID().slice(0, 8)}`;
  let clock = 1_700_000_000_000;

  beforeAll(async () => {
    db = await open();
    store = await openSqlStore(db);
  });
  afterAll(() => store.close());

  const direct = (
    sender: string,
    recipient: string,
    text: string,
    messageId: string = randomUUID(),
  ): NewMessage => ({
    app,
    messageId,
    sender,
    recipient,
    channelType: 'direct',
    conversationKey: conversationKey('direct', sender, recipient),
    body: { text, sender, recipient, message_id: messageId },
    text,
    createdAt: clock++,
  });
  const both = (sender: string, recipient: string): ConversationDelivery[] => [
    { owner: sender, conversWith: recipient, isSender: true },
    { owner: recipient, conversWith: sender, isSender: false },
  ];

  it('migrations are idempotent: running them again applies nothing', async () => {
    expect(await migrate(db)).toEqual([]);
  });

  it('a write that fails does not take concurrent writes down with it', async () => {
    // U+0000 cannot be stored (the router refuses it before the store; here it stands for any
    // statement failing among many in flight, which PGlite's worker runs in one exchange).
    const writes = Array.from({ length: 12 }, (_, i) =>
      store.recordMessage(
        direct(`w${i}`, 'hub', i === 5 ? 'bad\u0000text' : `fine ${i}`),
        both(`w${i}`, 'hub'),
      ),
    );
    const outcomes = await Promise.allSettled(writes);
    expect(outcomes.map((o) => o.status)).toEqual(
      outcomes.map((_, i) => (i === 5 ? 'rejected' : 'fulfilled')),
    );
    for (let i = 0; i < 12; i++) {
      const conversation = await store.getConversation(app, 'hub', `w${i}`);
      if (i === 5) expect(conversation).toBeNull();
      else expect(conversation).toMatchObject({ lastSeq: 1, unreadCount: 1 });
    }
  });

  it('numbers messages per conversation without gaps, also under concurrent writers', async () => {
    const results = await Promise.all(
      Array.from({ length: 50 }, (_, i) => store.recordMessage(direct('a', 'b', `m${i}`), both('a', 'b'))),
    );
    expect(results.map((r) => r.message.seq).sort((x, y) => x - y)).toEqual(
      Array.from({ length: 50 }, (_, i) => i + 1),
    );
    const other = await store.recordMessage(direct('a', 'c', 'elsewhere'), both('a', 'c'));
    expect(other.message.seq).toBe(1);
    expect(await store.getConversation(app, 'b', 'a')).toMatchObject({
      unreadCount: 50,
      lastSeq: 50,
      isNew: true,
    });
    expect(await store.getConversation(app, 'a', 'b')).toMatchObject({
      unreadCount: 0,
      readSeq: 50,
      isNew: false,
    });
  });

  it('stores a message once per id, even when the same id is written concurrently', async () => {
    const message = direct('a', 'b', 'idempotent');
    const results = await Promise.all([1, 2, 3].map(() => store.recordMessage(message, both('a', 'b'))));
    expect(results.filter((r) => !r.duplicate)).toHaveLength(1);
    expect(new Set(results.map((r) => r.message.seq)).size).toBe(1);
    expect(await store.getConversation(app, 'b', 'a')).toMatchObject({ unreadCount: 51 });
  });

  it('refuses an id already used by another sender, and keeps the original', async () => {
    const first = direct('a', 'b', 'original');
    await store.recordMessage(first, both('a', 'b'));
    const thief = direct('b', 'a', 'copy', first.messageId);
    await expect(store.recordMessage(thief, both('b', 'a'))).rejects.toMatchObject({
      code: 'message_id_conflict',
    });
    await expect(store.recordMessage(thief, both('b', 'a'))).rejects.toBeInstanceOf(MercurioError);
    expect((await store.findMessage(app, first.messageId))?.text).toBe('original');
  });

  it('read watermarks only move forward and the unread count follows them', async () => {
    const read = await store.markRead(app, 'b', 'a', 10);
    expect(read).toMatchObject({ readSeq: 10, unreadCount: 42 });
    const back = await store.markRead(app, 'b', 'a', 3);
    expect(back).toMatchObject({ readSeq: 10, unreadCount: 42 });
    const all = await store.patchConversation(app, 'b', 'a', { isNew: false });
    expect(all).toMatchObject({ readSeq: 52, unreadCount: 0, isNew: false });
    expect(await store.markRead(app, 'nobody', 'a', 1)).toBeNull();
  });

  it('archive flags a conversation; a new message brings it back and reports it', async () => {
    expect(await store.setArchived(app, 'b', 'a', true)).toMatchObject({ archived: true });
    const recorded = await store.recordMessage(direct('a', 'b', 'wake up'), both('a', 'b'));
    expect(recorded.unarchived.map((c) => [c.owner, c.archived, c.unreadCount])).toEqual([['b', false, 1]]);
    expect(await store.setArchived(app, 'x', 'y', true)).toBeNull();
  });

  it('groups are app-scoped and created once', async () => {
    const group = {
      app,
      uid: 'g1',
      name: 'G',
      owner: 'a',
      members: ['a', 'b'],
      attributes: { x: 1 },
      volatile: false,
      createdOn: clock,
      updatedOn: clock,
    };
    expect((await store.createGroupIfAbsent(group)).created).toBe(true);
    const again = await store.createGroupIfAbsent({ ...group, owner: 'mallory', members: ['mallory'] });
    expect(again).toMatchObject({ created: false, group: { owner: 'a', members: ['a', 'b'] } });
    expect(await store.getGroup(`${app}-other`, 'g1')).toBeNull();
  });

  it('presence: online while any client is connected', async () => {
    expect(await store.setPresence(app, 'p', 'c1', true, 1)).toEqual({ before: 'offline', after: 'online' });
    expect(await store.setPresence(app, 'p', 'c2', true, 2)).toEqual({ before: 'online', after: 'online' });
    expect(await store.setPresence(app, 'p', 'c1', false, 3)).toEqual({ before: 'online', after: 'online' });
    expect(await store.setPresence(app, 'p', 'c2', false, 4)).toEqual({ before: 'online', after: 'offline' });
    expect(await store.getPresence(app, ['p'])).toEqual([{ user: 'p', status: 'offline', lastOnline: 4 }]);
  });

  it('direct peers are the users one has a direct conversation with', async () => {
    expect((await store.directPeers(app, 'a', 10)).sort()).toEqual(['b', 'c']);
  });
});
