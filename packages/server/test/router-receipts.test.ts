import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Received, TestClient } from './support/mqtt-client.js';
import { ENGINES, TestStack } from './support/stack.js';

describe.each(ENGINES)('receipts (%s)', (engine) => {
  const stack = new TestStack('receipts', {}, engine);
  let sam: TestClient;
  let rita: TestClient;
  let eve: TestClient;

  const updated = (user: string, cw: string, id: unknown) => (m: Received) =>
    m.topic === stack.topic('users', user, 'messages', cw, String(id), 'clientupdated');
  const errorFor = (user: string) => (m: Received) =>
    m.topic === stack.topic('users', user, 'errors', 'clientadded');

  async function send(from: TestClient, sender: string, to: TestClient, recipient: string, text: string) {
    await from.publish(stack.outgoing(sender, recipient), { text });
    return (await to.waitFor((m) => m.payload.text === text && m.payload.sender === sender)).payload;
  }

  beforeAll(async () => {
    await stack.startRouter();
    await stack.createGroup('crew', 'sam', ['sam', 'rita', 'eve']);
    [sam, rita, eve] = (await Promise.all(['sam', 'rita', 'eve'].map((u) => stack.client(u)))) as [
      TestClient,
      TestClient,
      TestClient,
    ];
  });
  afterAll(() => stack.close());

  it("a recipient's 200 marks their copy read and tells the sender 250", async () => {
    const first = await send(sam, 'sam', rita, 'rita', 'read me');
    const second = await send(sam, 'sam', rita, 'rita', 'and me');
    expect(second.seq).toBe((first.seq as number) + 1);
    await rita.publish(stack.topic('users', 'rita', 'messages', 'sam', String(first.message_id), 'update'), {
      status: 200,
    });
    const toSender = await sam.waitFor(updated('sam', 'rita', first.message_id));
    expect(toSender.payload).toEqual({
      timelineOf: 'sam',
      message_id: first.message_id,
      status: 250,
      read_by: 'rita',
    });
    const own = await rita.waitFor(updated('rita', 'sam', first.message_id));
    expect(own.payload).toMatchObject({ status: 200 });
    const conv = await rita.waitFor(
      (m) => m.topic === stack.topic('users', 'rita', 'conversations', 'sam', 'clientupdated'),
    );
    expect(conv.payload).toMatchObject({ unread_count: 1, read_seq: first.seq });
    const { rows } = await stack.sql.query(
      `SELECT read_seq, unread_count FROM conversations WHERE app_id = $1 AND owner = 'rita'`,
      [stack.app],
    );
    expect(rows[0]).toEqual({ read_seq: first.seq, unread_count: 1 });
  });

  it('statuses never go back: a receipt for an older message does not lower the watermark', async () => {
    const { rows: before } = await stack.sql.query(
      `SELECT last_seq FROM conversations WHERE app_id = $1 AND owner = 'rita' AND convers_with = 'sam'`,
      [stack.app],
    );
    const lastId = (
      await stack.sql.query(
        `SELECT message_id FROM messages WHERE app_id = $1 AND seq = $2 AND sender = 'sam'`,
        [stack.app, before[0].last_seq],
      )
    ).rows[0].message_id;
    await rita.publish(stack.topic('users', 'rita', 'messages', 'sam', lastId, 'update'), { status: 200 });
    await sam.waitFor(updated('sam', 'rita', lastId));
    const firstId = (
      await stack.sql.query(
        `SELECT message_id FROM messages WHERE app_id = $1 AND seq = 1 AND sender = 'sam'`,
        [stack.app],
      )
    ).rows[0].message_id;
    await rita.publish(stack.topic('users', 'rita', 'messages', 'sam', firstId, 'update'), { status: 200 });
    await sam.waitForCount(updated('sam', 'rita', firstId), 2);
    const { rows } = await stack.sql.query(
      `SELECT read_seq, unread_count FROM conversations WHERE app_id = $1 AND owner = 'rita'`,
      [stack.app],
    );
    expect(rows[0]).toEqual({ read_seq: before[0].last_seq, unread_count: 0 });
  });

  it('refuses a receipt from someone who is not a recipient, and tells nobody', async () => {
    const message = await send(sam, 'sam', rita, 'rita', 'private');
    const id = String(message.message_id);
    // eve claims to have read a message between sam and rita, in her own namespace.
    await eve.publish(stack.topic('users', 'eve', 'messages', 'sam', id, 'update'), { status: 200 });
    expect((await eve.waitFor(errorFor('eve'))).payload).toMatchObject({ code: 'not_a_recipient' });
    // the sender cannot "read" their own message either
    await sam.publish(stack.topic('users', 'sam', 'messages', 'rita', id, 'update'), { status: 200 });
    expect((await sam.waitFor(errorFor('sam'))).payload).toMatchObject({ code: 'not_a_recipient' });
    expect(sam.received.some(updated('sam', 'rita', id))).toBe(false);
  });

  it('refuses receipts for unknown messages and statuses other than 200, creating nothing', async () => {
    await rita.publish(
      stack.topic('users', 'rita', 'messages', 'sam', '5d4ad1f8-0000-4000-8000-000000000000', 'update'),
      {
        status: 200,
      },
    );
    expect((await rita.waitFor(errorFor('rita'))).payload).toMatchObject({ code: 'message_not_found' });
    const message = await send(sam, 'sam', rita, 'rita', 'status games');
    await rita.publish(
      stack.topic('users', 'rita', 'messages', 'sam', String(message.message_id), 'update'),
      {
        status: 100,
      },
    );
    await rita.waitFor((m) => errorFor('rita')(m) && m.payload.code === 'invalid_payload');
  });

  it('for a group message, the real sender is told who read it', async () => {
    await sam.publish(stack.outgoing('sam', 'crew'), { text: 'crew news', channel_type: 'group' });
    const copy = await eve.waitFor((m) => m.payload.text === 'crew news');
    const id = String(copy.payload.message_id);
    await eve.publish(stack.topic('users', 'eve', 'messages', 'crew', id, 'update'), { status: 200 });
    await rita.publish(stack.topic('users', 'rita', 'messages', 'crew', id, 'update'), { status: 200 });
    const receipts = await sam.waitForCount(updated('sam', 'crew', id), 2);
    expect(receipts.map((r) => r.payload.read_by).sort()).toEqual(['eve', 'rita']);
    expect(receipts[0]!.payload).toMatchObject({ timelineOf: 'sam', status: 250 });
  });
});
