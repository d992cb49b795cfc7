import { randomUUID } from 'node:crypto';
import type { FastifyInstance } from 'fastify';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { TestClient } from './support/mqtt-client.js';
import { seedMessage } from './support/seed.js';
import { ENGINES, type TestSql, TestStack } from './support/stack.js';

/**
 * Every column of every table (text, json, jsonb, bytea, arrays, tsvector) that holds `needle` in
 * some row, as "table.column": the proof that erased content remains nowhere, whichever table a
 * later change adds. Tables with an app_id are read for this app's rows only (the test PostgreSQL
 * is shared by every test file, and holds millions of other apps' rows); the others whole.
 */
async function whereIs(sql: TestSql, app: string, needle: string): Promise<string[]> {
  const { rows: columns } = await sql.query<{
    table_name: string;
    column_name: string;
    data_type: string;
    per_app: boolean;
  }>(
    `SELECT c.table_name, c.column_name, c.data_type,
       EXISTS (SELECT 1 FROM information_schema.columns a WHERE a.table_schema = c.table_schema
         AND a.table_name = c.table_name AND a.column_name = 'app_id') AS per_app
     FROM information_schema.columns c
     JOIN information_schema.tables t ON t.table_schema = c.table_schema AND t.table_name = c.table_name
     WHERE c.table_schema = current_schema() AND t.table_type = 'BASE TABLE'
       AND c.data_type IN ('text', 'character varying', 'json', 'jsonb', 'bytea', 'ARRAY', 'tsvector')`,
  );
  expect(columns.length).toBeGreaterThan(20);
  const found: string[] = [];
  for (const { table_name: table, column_name: column, data_type: type, per_app: perApp } of columns) {
    const test =
      type === 'bytea'
        ? `position(convert_to($1, 'UTF8') in "${column}") > 0`
        : `position(lower($1) in lower("${column}"::text)) > 0`;
    const scope = perApp ? 'app_id = $2 AND' : '$2::text IS NOT NULL AND';
    const { rows } = await sql.query(`SELECT 1 FROM "${table}" WHERE ${scope} ${test} LIMIT 1`, [
      needle,
      app,
    ]);
    if (rows.length > 0) found.push(`${table}.${column}`);
  }
  return found;
}

describe.each(ENGINES)('erasure and export of a user (%s)', (engine) => {
  const stack = new TestStack(
    'erasure',
    {
      MERCURIO_RETENTION_INTERVAL_MS: '0',
      // Webhook events that never get delivered: they stay in the outbox, carrying names and text.
      MERCURIO_WEBHOOKS: JSON.stringify([{ url: 'http://127.0.0.1:9/hook' }]),
      MERCURIO_WEBHOOK_SECRET: 'w'.repeat(40),
      MERCURIO_WEBHOOK_RETRY_BASE_MS: '3600000',
      MERCURIO_WEBHOOK_RETRY_MAX_MS: '3600000',
    },
    engine,
  );
  let api: FastifyInstance;
  let zoe: TestClient;
  let bob: TestClient;
  const tokens: Record<string, string> = {};
  const marker = `marker${randomUUID().replace(/-/g, '')}`;
  const zoeName = `Zoe Q${randomUUID().slice(0, 8)}xyz`;
  const yanMarker = `yanmark${randomUUID().replace(/-/g, '')}`;
  const group = `group-${randomUUID().slice(0, 8)}`;
  const sent: string[] = [];

  const call = (who: string, method: 'GET' | 'POST', path: string, body?: unknown) =>
    api.inject({
      method,
      url: `/api${path.replace('{app}', stack.app)}`,
      headers: {
        authorization: `Bearer ${tokens[who]}`,
        ...(body === undefined ? {} : { 'content-type': 'application/json' }),
      },
      ...(body === undefined ? {} : { payload: JSON.stringify(body) }),
    });
  const copyFor =
    (user: string, peer: string, text: string) => (m: { topic: string; payload: { text?: string } }) =>
      m.topic === stack.topic('users', user, 'messages', peer, 'clientadded') && m.payload.text === text;

  beforeAll(async () => {
    await stack.startRouter();
    api = await stack.http();
    const store = stack.router!.store;
    await store.setProfile(
      stack.app,
      'zoe',
      { fullname: zoeName, firstname: null, lastname: null },
      Date.now(),
    );
    tokens.admin = await stack.adminToken();
    tokens.bob = await stack.token('bob');
    [zoe, bob] = await Promise.all([stack.client('zoe'), stack.client('bob')]);
    await stack.createGroup(group, 'zoe', ['zoe', 'bob', 'carl']);

    // Zoe writes to bob and to the group (through the router: trusted name, webhooks, search).
    for (let i = 0; i < 3; i++) {
      const text = `hello ${marker} ${i}`;
      await zoe.publish(stack.outgoing('zoe', 'bob'), { text, type: 'text', channel_type: 'direct' });
      const copy = await bob.waitFor(copyFor('bob', 'zoe', text));
      expect(copy.payload).toMatchObject({ sender_fullname: zoeName });
      sent.push(copy.payload.message_id as string);
    }
    const groupText = `to the group ${marker}`;
    await zoe.publish(stack.outgoing('zoe', group), { text: groupText, type: 'text', channel_type: 'group' });
    sent.push((await bob.waitFor(copyFor('bob', group, groupText))).payload.message_id as string);
    // Bob answers, naming her (recipient_fullname is the client's own word, stored as sent).
    await bob.publish(stack.outgoing('bob', 'zoe'), {
      text: 'hi back',
      type: 'text',
      channel_type: 'direct',
      recipient_fullname: zoeName,
    });
    await zoe.waitFor(copyFor('zoe', 'bob', 'hi back'));
    // Yan (erased with "remove") writes to bob too.
    await store.setProfile(
      stack.app,
      'yan',
      { fullname: 'Yan', firstname: null, lastname: null },
      Date.now(),
    );
    const yan = await stack.client('yan');
    await yan.publish(stack.outgoing('yan', 'bob'), {
      text: `a ${yanMarker}`,
      type: 'text',
      channel_type: 'direct',
    });
    await bob.waitFor(copyFor('bob', 'yan', `a ${yanMarker}`));

    // A device, an unsent attachment and a dead letter of zoe's.
    tokens.zoe = await stack.token('zoe');
    const device = await api.inject({
      method: 'POST',
      url: `/api/${stack.app}/zoe/instances/fcm-${marker}`,
      headers: { authorization: tokens.zoe, 'content-type': 'application/json' },
      payload: JSON.stringify({ device_model: `phone of ${zoeName}` }),
    });
    expect(device.statusCode).toBe(200);
    await stack.sql.query(
      `INSERT INTO attachments (app_id, attachment_id, owner, conversation_key, name, content_type, size_bytes, created_at)
       VALUES ($1, $2, 'zoe', 'd/bob/zoe', $3, 'text/plain', 3, $4)`,
      [stack.app, randomUUID(), `${marker}.txt`, Date.now()],
    );
    // An earlier version of her first message (as an edit keeps it), and her reaction to bob's.
    await stack.sql.query(
      `INSERT INTO message_versions (app_id, message_id, version, body, text, replaced_at, replaced_by, change)
       VALUES ($1, $2, 1, $3::jsonb, $4, $5, 'zoe', 'edited')`,
      [
        stack.app,
        sent[0],
        JSON.stringify({ text: `before edit ${marker}`, sender_fullname: zoeName }),
        `before edit ${marker}`,
        Date.now(),
      ],
    );
    const { rows: bobs } = await stack.sql.query<{ message_id: string }>(
      "SELECT message_id FROM messages WHERE app_id = $1 AND sender = 'bob'",
      [stack.app],
    );
    await stack.sql.query(
      `INSERT INTO message_reactions (app_id, message_id, reaction, user_id, created_at) VALUES ($1, $2, '👍', 'zoe', $3)`,
      [stack.app, bobs[0]!.message_id, Date.now()],
    );
    await stack.sql.query(
      `INSERT INTO dead_letters (app_id, topic, body, attempts, error, failed_at) VALUES ($1, $2, $3, 1, 'x', $4)`,
      [stack.app, stack.outgoing('zoe', 'bob'), Buffer.from(JSON.stringify({ text: marker })), Date.now()],
    );
  });
  afterAll(() => stack.close());

  it('exports everything the user sent, as JSON Lines ending with the counts', async () => {
    const res = await call('admin', 'GET', `/v1/apps/{app}/users/zoe/export`);
    expect(res.statusCode).toBe(200);
    expect(res.headers['content-type']).toContain('application/x-ndjson');
    const lines = res.body
      .trimEnd()
      .split('\n')
      .map((line) => JSON.parse(line));
    expect(lines[0]).toMatchObject({ kind: 'user', user_id: 'zoe', profile: { fullname: zoeName } });
    const messages = lines.filter((l) => l.kind === 'message');
    expect(messages.map((m) => m.message_id).sort()).toEqual([...sent].sort());
    for (const m of messages) expect(m.body.text).toContain(marker);
    expect(lines.filter((l) => l.kind === 'group').map((g) => g.group_id)).toEqual([group]);
    expect(
      lines
        .filter((l) => l.kind === 'conversation')
        .map((c) => c.convers_with)
        .sort(),
    ).toEqual(['bob', group].sort());
    expect(lines.filter((l) => l.kind === 'attachment').map((a) => a.name)).toEqual([`${marker}.txt`]);
    expect(lines.filter((l) => l.kind === 'message_version').map((v) => v.body.text)).toEqual([
      `before edit ${marker}`,
    ]);
    expect(lines.filter((l) => l.kind === 'reaction').map((r) => r.reaction)).toEqual(['👍']);
    expect(lines.at(-1)).toEqual({
      kind: 'end',
      counts: { conversation: 2, group: 1, message: 4, message_version: 1, reaction: 1, attachment: 1 },
    });
    // Another user's export has none of her messages (his conversation rows show her last one).
    const bobs = await call('admin', 'GET', `/v1/apps/{app}/users/bob/export`);
    const bobsMessages = bobs.body
      .trimEnd()
      .split('\n')
      .map((line) => JSON.parse(line))
      .filter((l) => l.kind === 'message');
    expect(bobsMessages.map((m) => m.body.text)).toEqual(['hi back']);
  });

  it('refuses erasure and export to anyone but an admin of the app', async () => {
    expect((await call('bob', 'POST', '/v1/apps/{app}/users/zoe/erase')).statusCode).toBe(403);
    expect((await call('bob', 'GET', '/v1/apps/{app}/users/zoe/export')).statusCode).toBe(403);
    expect((await call('bob', 'GET', '/v1/apps/{app}/users/bob/export')).statusCode).toBe(403);
    expect((await call('admin', 'POST', `/v1/apps/x${stack.app}/users/zoe/erase`)).statusCode).toBe(403);
    const badMode = await call('admin', 'POST', '/v1/apps/{app}/users/zoe/erase', { mode: 'shred' });
    expect(badMode.statusCode).toBe(400);
    expect((await call('admin', 'POST', '/v1/apps/{app}/users/a%2Fb/erase')).statusCode).toBe(400);
    // Nothing changed: her content is still there.
    expect(await whereIs(stack.sql, stack.app, marker)).toContain('messages.text');
  });

  it('erases a user: afterwards no table holds her words or her name; reported, and idempotent', async () => {
    expect(await whereIs(stack.sql, stack.app, zoeName)).not.toEqual([]);
    const res = await call('admin', 'POST', '/v1/apps/{app}/users/zoe/erase', { mode: 'tombstone' });
    expect(res.statusCode).toBe(200);
    const job = res.json().result;
    expect(job).toMatchObject({ user_id: 'zoe', status: 'done', mode: 'tombstone' });
    expect(job.counts).toMatchObject({
      messages_tombstoned: 4,
      names_dropped: 1,
      conversations: 2,
      group_memberships: 1,
      profile: 1,
      instances: 1,
      attachments: 1,
      dead_letters: 1,
      reactions: 1,
      versions_reactions_hidden: 1,
    });
    expect(job.counts.webhook_events).toBeGreaterThan(0);

    expect(await whereIs(stack.sql, stack.app, marker)).toEqual([]);
    expect(await whereIs(stack.sql, stack.app, zoeName)).toEqual([]);

    // Bob's history keeps the shape: her messages are tombstones in place, his reply stays.
    const { rows } = await stack.sql.query<{ seq: number; sender: string; text: string | null }>(
      "SELECT seq, sender, text FROM messages WHERE app_id = $1 AND conversation_key = 'd/bob/zoe' ORDER BY seq",
      [stack.app],
    );
    expect(rows.map((r) => [r.sender, r.text])).toEqual([
      ['zoe', null],
      ['zoe', null],
      ['zoe', null],
      ['bob', 'hi back'],
    ]);
    const bobsRow = await stack.sql.query(
      'SELECT last_message FROM conversations WHERE app_id = $1 AND owner = $2 AND convers_with = $3',
      [stack.app, 'bob', 'zoe'],
    );
    expect(bobsRow.rows[0].last_message).toMatchObject({ text: 'hi back' });
    expect(bobsRow.rows[0].last_message.recipient_fullname).toBeUndefined();

    // Again: nothing more to do, counts unchanged; the job is there to read.
    const again = (
      await call('admin', 'POST', '/v1/apps/{app}/users/zoe/erase', { mode: 'tombstone' })
    ).json().result;
    expect(again.counts.messages_tombstoned).toBe(4);
    expect(again.counts.profile).toBe(1);
    expect((await call('admin', 'GET', '/v1/apps/{app}/users/zoe/erasure')).json().result.status).toBe(
      'done',
    );
    const audit = (await call('admin', 'GET', '/v1/apps/{app}/audit?action=user.erase')).json().result;
    expect(audit.map((e: { target: string }) => e.target)).toEqual(['zoe', 'zoe']);
    expect(JSON.stringify(audit)).not.toContain(zoeName);
  });

  it('erases with "remove": the messages are gone and the peer’s conversation row says so', async () => {
    const job = (await call('admin', 'POST', '/v1/apps/{app}/users/yan/erase', { mode: 'remove' })).json()
      .result;
    expect(job.counts).toMatchObject({ messages_removed: 1, profile: 1 });
    expect(await whereIs(stack.sql, stack.app, yanMarker)).toEqual([]);
    const row = await stack.sql.query(
      'SELECT last_message, unread_count FROM conversations WHERE app_id = $1 AND owner = $2 AND convers_with = $3',
      [stack.app, 'bob', 'yan'],
    );
    expect(row.rows[0]).toMatchObject({ last_message: null, unread_count: 0 });
  });
  it('resumes an erasure cut short: the job says running, asking again finishes it and counts once', async () => {
    const store = stack.router!.store;
    for (let i = 0; i < 3; i++)
      await seedMessage(store, stack.app, {
        sender: 'wes',
        recipient: 'bob',
        text: `wes ${i} ${yanMarker}x`,
      });
    // A process that died after the first batch of the first conversation.
    await store.startErasure(stack.app, 'wes', 'tombstone', Date.now());
    const [key] = await store.userConversationKeys(stack.app, 'wes');
    await store.eraseMessageBatch(stack.app, 'wes', 'tombstone', key!, 0, 1);
    const cut = (await call('admin', 'GET', '/v1/apps/{app}/users/wes/erasure')).json().result;
    expect(cut).toMatchObject({ status: 'running', counts: { messages_tombstoned: 1 } });
    const done = (await call('admin', 'POST', '/v1/apps/{app}/users/wes/erase')).json().result;
    expect(done).toMatchObject({ status: 'done', counts: { messages_tombstoned: 3 } });
    expect(await whereIs(stack.sql, stack.app, `${yanMarker}x`)).toEqual([]);
  });
});
