import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type SearchBounds, searchMessages } from '../src/store/search-sql.js';
import type { SqlDatabase } from '../src/store/sql.js';
import { openSqlStore } from '../src/store/sql-store.js';
import type { Store } from '../src/store/store.js';
import { conversationKey } from '../src/store/types.js';
import { SQL_DATABASES } from './support/sql-databases.js';

/**
 * Search's bounded plans (search-sql.ts) with the bounds shrunk to a few rows, so each plan runs
 * on a small data set: the newest-window plan must rank only what the user can see, and a word
 * the window holds too few of must still be found in all history.
 */
describe.each(SQL_DATABASES)('search bounds on %s', (_, open) => {
  let store: Store;
  let db: SqlDatabase;
  const app = `sb-${randomUUID().slice(0, 8)}`;
  let clock = 1_700_000_000_000;
  // Window plan for anyone who sees more than 4 messages; the window is the app's newest 6.
  const bounds: SearchBounds = { scanRows: 4, windowRows: 6 };

  const send = (sender: string, recipient: string, text: string) => {
    const messageId = randomUUID();
    return store.recordMessage(
      {
        app,
        messageId,
        sender,
        recipient,
        channelType: 'direct',
        conversationKey: conversationKey('direct', sender, recipient),
        body: { text, sender, recipient, message_id: messageId },
        text,
        createdAt: clock++,
      },
      [
        { owner: sender, conversWith: recipient, isSender: true },
        { owner: recipient, conversWith: sender, isSender: false },
      ],
    );
  };
  const search = (user: string, text: string, limit = 2) =>
    searchMessages(db, app, user, { text, limit }, bounds).then((hits) =>
      hits.map((hit) => hit.message.text),
    );

  beforeAll(async () => {
    db = await open();
    store = await openSqlStore(db);
    // Oldest first: alice and bob talk about "rare" once, long ago; then many "common" messages;
    // the newest six are mallory's conversation with eve (the window is all theirs).
    await send('alice', 'bob', 'rare old word');
    for (let i = 0; i < 8; i++) await send(i % 2 ? 'alice' : 'bob', i % 2 ? 'bob' : 'alice', `common ${i}`);
    await send('alice', 'bob', 'common newest of alice');
    for (let i = 0; i < 6; i++) await send('mallory', 'eve', `common secret ${i} rare`);
  });
  afterAll(() => store.close());

  it('a rare word outside the window is still found in all history', async () => {
    expect(await search('alice', 'rare')).toEqual(['rare old word']);
  });

  it("the window is the app's newest messages, but only the user's own matches are ranked", async () => {
    // The window (mallory's six) holds no match alice may see: she gets hers from all history.
    const hits = await search('alice', 'common', 3);
    expect(hits).toHaveLength(3);
    for (const text of hits) expect(text).not.toContain('secret');
    // Eve sees the window's matches: ranked among them, newest first at equal rank.
    expect(await search('eve', 'common', 2)).toEqual(['common secret 5 rare', 'common secret 4 rare']);
  });

  it('a user who sees few messages is searched by the plain plan, never outside their conversations', async () => {
    await send('trudy', 'victor', 'common for trudy');
    expect(await search('trudy', 'common', 5)).toEqual(['common for trudy']);
    expect(await search('victor', 'secret', 5)).toEqual([]);
  });
});
