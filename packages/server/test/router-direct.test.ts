import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { TestClient } from './support/mqtt-client.js';
import { ENGINES, TestStack } from './support/stack.js';

describe.each(ENGINES)('direct messages through RabbitMQ and the router (%s)', (engine) => {
  const stack = new TestStack('direct', {}, engine);
  let alice: TestClient;
  let bob: TestClient;

  beforeAll(async () => {
    await stack.startRouter();
    alice = await stack.client('alice');
    bob = await stack.client('bob', { transport: 'tcp' });
  });
  afterAll(() => stack.close());

  const addedFor = (user: string, peer: string) => (m: { topic: string }) =>
    m.topic === stack.topic('users', user, 'messages', peer, 'clientadded');

  it('delivers the sender copy (100) and the recipient copy (150) with one message id, and stores it once', async () => {
    await alice.publish(stack.outgoing('alice', 'bob'), {
      text: 'hello bob',
      type: 'text',
      sender_fullname: 'Alice',
      recipient_fullname: 'Bob',
      attributes: { custom: 1 },
      channel_type: 'direct',
      sender: 'mallory',
      status: 250,
    });
    const own = await alice.waitFor(addedFor('alice', 'bob'));
    const delivered = await bob.waitFor(addedFor('bob', 'alice'));

    expect(own.payload).toMatchObject({
      text: 'hello bob',
      sender: 'alice',
      recipient: 'bob',
      status: 100,
      seq: 1,
    });
    expect(delivered.payload).toMatchObject({
      text: 'hello bob',
      sender: 'alice',
      recipient: 'bob',
      app_id: stack.app,
      status: 150,
      channel_type: 'direct',
      attributes: { custom: 1 },
      // The client's sender_fullname is not trusted: alice has no profile, so her id is her name.
      sender_fullname: 'alice',
      seq: 1,
    });
    expect(delivered.payload.message_id).toBe(own.payload.message_id);
    expect(typeof delivered.payload.timestamp).toBe('number');

    const { rows } = await stack.sql.query(
      'SELECT sender, recipient, seq::int, text FROM messages WHERE app_id = $1',
      [stack.app],
    );
    expect(rows).toEqual([{ sender: 'alice', recipient: 'bob', seq: 1, text: 'hello bob' }]);
  });

  it('keeps conversation rows for both users, with an unread count for the recipient only', async () => {
    const { rows } = await stack.sql.query(
      `SELECT owner, convers_with, unread_count, is_new, last_seq::int, read_seq::int, archived
       FROM conversations WHERE app_id = $1 ORDER BY owner`,
      [stack.app],
    );
    expect(rows).toEqual([
      {
        owner: 'alice',
        convers_with: 'bob',
        unread_count: 0,
        is_new: false,
        last_seq: 1,
        read_seq: 1,
        archived: false,
      },
      {
        owner: 'bob',
        convers_with: 'alice',
        unread_count: 1,
        is_new: true,
        last_seq: 1,
        read_seq: 0,
        archived: false,
      },
    ]);
  });

  it('keeps order within a conversation: 200 messages arrive and are numbered in the order sent', async () => {
    const count = 200;
    const texts = Array.from({ length: count }, (_, i) => `ordered ${i}`);
    for (const text of texts) await bob.publish(stack.outgoing('bob', 'alice'), { text });
    const got = await alice.waitForCount(
      (m) => addedFor('alice', 'bob')(m) && String(m.payload.text).startsWith('ordered'),
      count,
    );
    expect(got.map((m) => m.payload.text)).toEqual(texts);
    const seqs = got.map((m) => m.payload.seq as number);
    expect(seqs).toEqual(seqs.map((_, i) => seqs[0]! + i));
    const { rows } = await stack.sql.query(
      `SELECT text FROM messages WHERE app_id = $1 AND text LIKE 'ordered %' ORDER BY seq`,
      [stack.app],
    );
    expect(rows.map((r) => r.text)).toEqual(texts);
    const alicesRow = await stack.sql.query(
      `SELECT unread_count FROM conversations WHERE app_id = $1 AND owner = 'alice'`,
      [stack.app],
    );
    expect(alicesRow.rows[0].unread_count).toBe(count);
  });

  it('keeps a client-supplied message_id, and a repeated publish of it is not a second message', async () => {
    const id = randomUUID();
    await alice.publish(stack.outgoing('alice', 'bob'), { text: 'once', message_id: id });
    await alice.publish(stack.outgoing('alice', 'bob'), { text: 'once', message_id: id });
    const copies = await bob.waitForCount((m) => m.payload.message_id === id, 2);
    expect(copies.map((m) => m.payload.seq)).toEqual([copies[0]!.payload.seq, copies[0]!.payload.seq]);
    const { rows } = await stack.sql.query('SELECT count(*)::int AS n FROM messages WHERE message_id = $1', [
      id,
    ]);
    expect(rows[0].n).toBe(1);
  });

  it("refuses another sender's message_id with an error event and stores nothing new", async () => {
    const id = randomUUID();
    await alice.publish(stack.outgoing('alice', 'bob'), { text: 'mine', message_id: id });
    await bob.waitFor((m) => m.payload.message_id === id);
    await bob.publish(stack.outgoing('bob', 'alice'), { text: 'stolen', message_id: id });
    const error = await bob.waitFor((m) => m.topic === stack.topic('users', 'bob', 'errors', 'clientadded'));
    expect(error.payload).toMatchObject({ code: 'message_id_conflict', message_id: id });
    const { rows } = await stack.sql.query('SELECT sender, text FROM messages WHERE message_id = $1', [id]);
    expect(rows).toEqual([{ sender: 'alice', text: 'mine' }]);
  });

  it('does not touch the conversation list when attributes.updateconversation is false', async () => {
    await alice.publish(stack.outgoing('alice', 'carol'), {
      text: 'quiet',
      attributes: { updateconversation: false },
    });
    await alice.waitFor((m) => m.payload.text === 'quiet');
    const { rows } = await stack.sql.query(
      `SELECT count(*)::int AS n FROM conversations WHERE app_id = $1 AND (owner = 'carol' OR convers_with = 'carol')`,
      [stack.app],
    );
    expect(rows[0].n).toBe(0);
  });

  it('a client with a persistent session gets what was sent while it was offline', async () => {
    const clientId = `dora-${randomUUID().slice(0, 8)}`;
    const first = await stack.client('dora', { clean: false, clientId });
    await first.end();
    await alice.publish(stack.outgoing('alice', 'dora'), { text: 'while you were away' });
    await alice.waitFor((m) => m.payload.text === 'while you were away');
    const back = await stack.client('dora', { clean: false, clientId, subscribe: false });
    const copy = await back.waitFor((m) => m.payload.text === 'while you were away');
    expect(copy.payload).toMatchObject({ status: 150, sender: 'alice' });
  });
});
