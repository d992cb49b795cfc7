import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Received, TestClient } from './support/mqtt-client.js';
import { ENGINES, TestStack } from './support/stack.js';

/** Messages each poster sends at once (under the default per-user message limit). */
const PER_POSTER = 60;

/**
 * Order per conversation: everyone posting into one conversation at the same moment, as a busy
 * group does. Every member must see the conversation as it was stored: each message once, `seq`
 * rising by one with no gaps. (Before the order key was the conversation's, two members' messages
 * to one group were processed side by side, and on RabbitMQ their copies left out of `seq` order.)
 */
describe.each(ENGINES)('order per conversation (%s)', (engine) => {
  const stack = new TestStack('conv-order', {}, engine);
  const members = ['ann', 'ben', 'cat', 'dan', 'eve'];
  const clients = new Map<string, TestClient>();

  beforeAll(async () => {
    await stack.startRouter();
    await stack.createGroup('group-busy', 'ann', members);
    for (const user of [...members, 'fay', 'gus']) clients.set(user, await stack.client(user));
  });
  afterAll(() => stack.close());

  const copiesIn = (user: string, conversWith: string) => (m: Received) =>
    m.topic === stack.topic('users', user, 'messages', conversWith, 'clientadded');

  /** Every poster sends all its messages at once (QoS 1, none awaited before the next is sent). */
  async function postAtOnce(sends: [poster: string, recipient: string][], payload: Record<string, unknown>) {
    await Promise.all(
      sends.flatMap(([poster, recipient]) =>
        Array.from({ length: PER_POSTER }, (_, i) =>
          clients.get(poster)!.publish(stack.outgoing(poster, recipient), {
            ...payload,
            text: `${poster} ${i}`,
          }),
        ),
      ),
    );
  }

  /** What `user` received in the conversation, checked: each message once, seq 1, 2, 3… */
  async function expectInSeqOrder(user: string, conversWith: string, count: number) {
    const copies = await clients.get(user)!.waitForCount(copiesIn(user, conversWith), count, 30_000);
    const seqs = copies.map((copy) => copy.payload.seq);
    const expected = Array.from({ length: count }, (_, i) => i + 1);
    const outOfOrder = seqs.filter((seq, i) => i > 0 && Number(seq) <= Number(seqs[i - 1])).length;
    expect({ user, outOfOrder, seqs }).toEqual({ user, outOfOrder: 0, seqs: expected });
    expect(new Set(copies.map((copy) => copy.payload.message_id)).size).toBe(count);
    return copies;
  }

  async function storedSeqs(conversationKey: string): Promise<number[]> {
    const { rows } = await stack.sql.query(
      'SELECT seq FROM messages WHERE app_id = $1 AND conversation_key = $2 ORDER BY seq',
      [stack.app, conversationKey],
    );
    return rows.map((row: { seq: number | string }) => Number(row.seq));
  }

  it('five members posting into one group at once: every member gets every message once, in seq order', async () => {
    await postAtOnce(
      members.map((member) => [member, 'group-busy']),
      { channel_type: 'group' },
    );
    const total = members.length * PER_POSTER;
    const received = await Promise.all(members.map((user) => expectInSeqOrder(user, 'group-busy', total)));
    // Each poster's own messages in the order they were sent.
    for (const poster of members) {
      const own = received[0]!
        .filter((copy) => copy.payload.sender === poster)
        .map((copy) => copy.payload.text);
      expect(own).toEqual(Array.from({ length: PER_POSTER }, (_, i) => `${poster} ${i}`));
    }
    expect(await storedSeqs('g/group-busy')).toEqual(Array.from({ length: total }, (_, i) => i + 1));
  });

  it('both sides of a direct conversation posting at once: each sees seq order', async () => {
    await postAtOnce(
      [
        ['fay', 'gus'],
        ['gus', 'fay'],
      ],
      {},
    );
    await expectInSeqOrder('fay', 'gus', 2 * PER_POSTER);
    await expectInSeqOrder('gus', 'fay', 2 * PER_POSTER);
    expect(await storedSeqs('d/fay/gus')).toEqual(Array.from({ length: 2 * PER_POSTER }, (_, i) => i + 1));
  });
});
