import { randomUUID } from 'node:crypto';
import type { FastifyInstance } from 'fastify';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createLogger } from '../src/logger.js';
import { RetentionPurger } from '../src/policies/retention-purge.js';
import type { Store } from '../src/store/store.js';
import { conversationKey } from '../src/store/types.js';
import { ENGINES, TestStack } from './support/stack.js';

const DAY = 86_400_000;

describe.each(ENGINES)('retention policies and the purge (%s)', (engine) => {
  const stack = new TestStack(
    'retention',
    // No scheduled run: the test runs the purge itself; batches of 3 make every run several batches.
    {
      MERCURIO_RETENTION_INTERVAL_MS: '0',
      MERCURIO_RETENTION_BATCH_SIZE: '3',
      MERCURIO_RETENTION_BATCH_PAUSE_MS: '0',
    },
    engine,
  );
  let api: FastifyInstance;
  let store: Store;
  const tokens: Record<string, string> = {};
  const now = Date.now();

  const call = (who: string, method: 'GET' | 'PUT' | 'POST' | 'DELETE', path: string, body?: unknown) =>
    api.inject({
      method,
      url: `/api/v1/apps/${stack.app}${path}`,
      headers: {
        authorization: `Bearer ${tokens[who]}`,
        ...(body === undefined ? {} : { 'content-type': 'application/json' }),
      },
      ...(body === undefined ? {} : { payload: JSON.stringify(body) }),
    });

  /** A message stored as the router stores it, `ageDays` old, with a webhook event (outbox row). */
  async function seed(sender: string, recipient: string, text: string, ageDays: number, group?: string[]) {
    const messageId = randomUUID();
    const createdAt = now - ageDays * DAY;
    const channelType = group ? 'group' : 'direct';
    const key = group ? conversationKey('group', recipient) : conversationKey('direct', sender, recipient);
    const participants = group ?? [sender, recipient];
    await store.recordMessage(
      {
        app: stack.app,
        messageId,
        sender,
        recipient,
        channelType,
        conversationKey: key,
        body: { text, type: 'text', sender, recipient, message_id: messageId, timestamp: createdAt },
        text,
        createdAt,
      },
      participants.map((owner) => ({
        owner,
        conversWith: group ? recipient : owner === sender ? recipient : sender,
        isSender: owner === sender,
      })),
      () => [
        {
          app: stack.app,
          type: 'message-sent',
          orderingKey: key,
          payload: { message_id: messageId, text },
          endpoints: ['http://127.0.0.1:9/hook'],
        },
      ],
    );
    return messageId;
  }

  const texts = async () =>
    (
      await stack.sql.query<{ text: string }>('SELECT text FROM messages WHERE app_id = $1 ORDER BY text', [
        stack.app,
      ])
    ).rows.map((r) => r.text);
  const conversation = async (owner: string, with_: string) =>
    (
      await stack.sql.query<{ last_message: { text: string } | null; unread_count: number }>(
        'SELECT last_message, unread_count FROM conversations WHERE app_id = $1 AND owner = $2 AND convers_with = $3',
        [stack.app, owner, with_],
      )
    ).rows[0];

  beforeAll(async () => {
    await stack.startRouter();
    api = await stack.http();
    store = stack.router!.store;
    tokens.admin = await stack.adminToken();
    tokens.alice = await stack.token('alice');
  });
  afterAll(() => stack.close());

  it('purges exactly the expired messages of each scope, their outbox rows and search entries; holds keep theirs', async () => {
    // Policies: the app keeps 30 days, groups forever, the alice–carol conversation 5 days.
    expect((await call('admin', 'PUT', '/retention', { scope: 'app', keep_days: 30 })).statusCode).toBe(200);
    expect((await call('admin', 'PUT', '/retention', { scope: 'group', keep_days: null })).statusCode).toBe(
      200,
    );
    const conv = { scope: 'conversation', conversation: { direct: ['carol', 'alice'] }, keep_days: 5 };
    expect((await call('admin', 'PUT', '/retention', conv)).statusCode).toBe(200);
    expect((await call('admin', 'PUT', '/legal-holds', { user: 'erin', reason: 'case 42' })).statusCode).toBe(
      200,
    );
    expect(
      (await call('admin', 'PUT', '/legal-holds', { conversation: { direct: ['frank', 'gina'] } }))
        .statusCode,
    ).toBe(200);

    const purgedIds: string[] = [];
    for (let i = 0; i < 4; i++) purgedIds.push(await seed('alice', 'bob', `ab-old-${i} zebrafish`, 60 - i));
    await seed('bob', 'alice', 'ab-new', 1);
    purgedIds.push(await seed('alice', 'harry', 'ah-old zebrafish', 40));
    await seed('alice', 'group-g', 'g-old', 400, ['alice', 'bob']);
    purgedIds.push(await seed('alice', 'carol', 'ac-10d zebrafish', 10));
    await seed('carol', 'alice', 'ac-1d', 1);
    await seed('dave', 'erin', 'de-old-held', 90);
    await seed('erin', 'ivan', 'ei-old-held', 90);
    await seed('frank', 'gina', 'fg-old-held', 90);
    await seed('alice', 'bob', 'ab-29d', 29);
    // Bob's view of alice before: 5 unread (4 old + ab-29d; ab-new is his own), last ab-29d? no: newest seq.
    expect((await conversation('bob', 'alice'))?.unread_count).toBe(5);

    const run = await call('admin', 'POST', '/retention/run');
    expect(run.statusCode).toBe(200);
    const report = run.json().result;
    expect(report.deletedMessages).toBe(6);
    expect(report.deletedOutboxRows).toBe(6);
    expect(report.batches).toBeGreaterThan(1);

    expect(await texts()).toEqual(
      ['ab-29d', 'ab-new', 'ac-1d', 'de-old-held', 'ei-old-held', 'fg-old-held', 'g-old'].sort(),
    );
    // Their webhook events went with them; the others' stay.
    const outbox = await stack.sql.query<{ id: string }>(
      "SELECT payload->>'message_id' AS id FROM webhook_outbox WHERE app_id = $1",
      [stack.app],
    );
    expect(outbox.rows.map((r) => r.id).filter((id) => purgedIds.includes(id))).toEqual([]);
    expect(outbox.rows).toHaveLength(7);
    // Search entries are the rows' own (a generated column): nothing finds the purged words.
    const search = await stack.sql.query(
      "SELECT 1 FROM messages WHERE app_id = $1 AND search_vector @@ to_tsquery('simple', 'zebrafish')",
      [stack.app],
    );
    expect(search.rows).toHaveLength(0);
    // The lists stay true: bob's unread count is what is left unread, the last message the newest left.
    expect(await conversation('bob', 'alice')).toMatchObject({
      unread_count: 1,
      last_message: { text: 'ab-29d' },
    });
    expect(await conversation('alice', 'harry')).toMatchObject({ unread_count: 0, last_message: null });
    expect(await conversation('harry', 'alice')).toMatchObject({ unread_count: 0, last_message: null });
    expect((await conversation('alice', 'carol'))?.last_message?.text).toBe('ac-1d');

    // A second run finds nothing; releasing the hold lets the held user's messages go.
    expect((await call('admin', 'POST', '/retention/run')).json().result.deletedMessages).toBe(0);
    expect((await call('admin', 'DELETE', '/legal-holds', { user: 'erin' })).statusCode).toBe(200);
    expect((await call('admin', 'POST', '/retention/run')).json().result.deletedMessages).toBe(2);
    expect(await texts()).not.toContain('de-old-held');

    const show = (await call('admin', 'GET', '/retention')).json().result;
    expect(show.policies).toEqual([
      expect.objectContaining({ scope: 'app', keep_days: 30 }),
      expect.objectContaining({ scope: 'group', keep_days: null }),
      expect.objectContaining({ scope: 'conversation', conversation_key: 'd/alice/carol', keep_days: 5 }),
    ]);
    expect(show.legal_holds).toEqual([
      expect.objectContaining({ kind: 'conversation', target: 'd/frank/gina' }),
    ]);
  });

  it('keeps purging in batches while new messages of the same conversations are written', async () => {
    for (let i = 0; i < 12; i++) await seed('kim', 'lee', `kl-old-${i}`, 100);
    const live = (async () => {
      for (let i = 0; i < 10; i++) await seed('lee', 'kim', `kl-live-${i}`, 0);
    })();
    const report = (await call('admin', 'POST', '/retention/run')).json().result;
    await live;
    expect(report.deletedMessages).toBe(12);
    const left = (await texts()).filter((t) => t.startsWith('kl-'));
    expect(left).toHaveLength(10);
    expect((await conversation('kim', 'lee'))?.last_message?.text).toBe('kl-live-9');
  });

  it('refuses bad policies and callers with a stable code, and changes nothing', async () => {
    const before = (await call('admin', 'GET', '/retention')).json().result;
    const bad = [
      { scope: 'app', keep_days: 0 },
      { scope: 'app', keep_days: -3 },
      { scope: 'app', keep_days: 1.5 },
      { scope: 'app', keep_days: '30' },
      { scope: 'app', keep_days: 10_000_000 },
      { scope: 'app' },
      { scope: 'everything', keep_days: 3 },
      { scope: 'conversation', keep_days: 3 },
      { scope: 'conversation', conversation: { group: 'a/b' }, keep_days: 3 },
      { scope: 'conversation', conversation: { direct: ['a'] }, keep_days: 3 },
      { scope: 'conversation', conversation: { group: 'g', direct: ['a', 'b'] }, keep_days: 3 },
    ];
    for (const body of bad) {
      const res = await call('admin', 'PUT', '/retention', body);
      expect(res.statusCode, JSON.stringify(body)).toBe(400);
      expect(res.json().err.code).toBe('invalid_request');
    }
    const user = await call('alice', 'PUT', '/retention', { scope: 'app', keep_days: 1 });
    expect(user.statusCode).toBe(403);
    expect((await call('alice', 'POST', '/retention/run')).statusCode).toBe(403);
    expect((await call('alice', 'PUT', '/legal-holds', { user: 'alice' })).statusCode).toBe(403);
    const otherApp = await api.inject({
      method: 'PUT',
      url: `/api/v1/apps/other-${stack.app}/retention`,
      headers: { authorization: `Bearer ${tokens.admin}`, 'content-type': 'application/json' },
      payload: JSON.stringify({ scope: 'app', keep_days: 1 }),
    });
    expect(otherApp.statusCode).toBe(403);
    expect((await call('admin', 'DELETE', '/retention', { scope: 'direct' })).statusCode).toBe(404);
    expect((await call('admin', 'GET', '/retention')).json().result).toEqual(before);
  });
  it('takes what hangs off a purged message: versions, reactions, hidden rows, attachments (blobs through the hook)', async () => {
    const old = await seed('nia', 'oto', 'no-old', 100);
    const kept = await seed('oto', 'nia', 'no-new', 1);
    for (const id of [old, kept]) {
      await stack.sql.query(
        `INSERT INTO message_versions (app_id, message_id, version, body, text, replaced_at, replaced_by, change)
         VALUES ($1, $2, 1, '{}'::jsonb, 'v', 0, 'nia', 'edited')`,
        [stack.app, id],
      );
      await stack.sql.query(
        "INSERT INTO message_reactions (app_id, message_id, reaction, user_id, created_at) VALUES ($1, $2, '👍', 'oto', 0)",
        [stack.app, id],
      );
      await stack.sql.query(
        `INSERT INTO message_hidden (app_id, user_id, message_id, conversation_key, seq, hidden_at)
         VALUES ($1, 'oto', $2, 'd/nia/oto', 1, 0)`,
        [stack.app, id],
      );
      await stack.sql.query(
        `INSERT INTO attachments (app_id, attachment_id, owner, conversation_key, name, content_type, size_bytes,
           has_thumbnail, message_id, created_at)
         VALUES ($1, $2, 'nia', 'd/nia/oto', 'f.png', 'image/png', 1, true, $2, 0)`,
        [stack.app, id],
      );
    }
    const removed: string[] = [];
    const purger = new RetentionPurger({
      store,
      settings: { intervalMs: 0, batchSize: 50, batchPauseMs: 0, app: stack.app },
      log: createLogger('silent'),
      now: Date.now,
      blobs: async (keys) => {
        removed.push(...keys);
        return keys.length;
      },
    });
    const report = await purger.run();
    expect(report).toMatchObject({ deletedMessages: 1, deletedDependents: 3, deletedBlobs: 2 });
    expect(removed.sort()).toEqual([old, `${old}.thumb`]);
    for (const table of ['message_versions', 'message_reactions', 'message_hidden', 'attachments']) {
      const { rows } = await stack.sql.query<{ message_id: string }>(
        `SELECT message_id FROM ${table} WHERE app_id = $1`,
        [stack.app],
      );
      expect(
        rows.map((r) => r.message_id),
        table,
      ).toEqual([kept]);
    }
  });
  it('runs by itself every MERCURIO_RETENTION_INTERVAL_MS, and stops when asked', async () => {
    await seed('pia', 'qua', 'pq-old', 100);
    const purger = new RetentionPurger({
      store,
      settings: { intervalMs: 50, batchSize: 50, batchPauseMs: 0, app: stack.app },
      log: createLogger('silent'),
      now: Date.now,
    });
    purger.start();
    try {
      const deadline = Date.now() + 10_000;
      while ((await texts()).includes('pq-old') && Date.now() < deadline)
        await new Promise((resolve) => setTimeout(resolve, 50));
      expect(await texts()).not.toContain('pq-old');
    } finally {
      await purger.stop();
    }
  });
});
