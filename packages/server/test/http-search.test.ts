import type { FastifyInstance } from 'fastify';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Store } from '../src/store/store.js';
import type { TestClient } from './support/mqtt-client.js';
import { seedMessage } from './support/seed.js';
import { TestStack } from './support/stack.js';

interface Seeded {
  id: string;
  text: string;
  sender: string;
  recipient: string;
  group: string | null;
}

const USERS = Array.from({ length: 10 }, (_, i) => `u${i}`);
const GROUPS: Record<string, string[]> = {
  g1: ['u0', 'u1', 'u2', 'u3', 'u4'],
  g2: ['u5', 'u6', 'u7', 'u8', 'u9'],
};
const WORDS = ['apple', 'banana', 'cherry', 'delta', 'echo', 'foxtrot', 'golf', 'hotel'];
const MESSAGES = 3000;

describe('HTTP API: full-text search', () => {
  const stack = new TestStack('http-search');
  let api: FastifyInstance;
  let store: Store;
  const tokens: Record<string, string> = {};
  const seeded: Seeded[] = [];
  let u0: TestClient;
  let u1: TestClient;

  const search = (user: string, query: string, asUser = user) =>
    api.inject({
      method: 'GET',
      url: `/api/v1/apps/${stack.app}/users/${user}/search?${query}`,
      headers: { authorization: tokens[asUser]! },
    });
  const canSee = (user: string, m: Seeded) =>
    m.group ? GROUPS[m.group]!.includes(user) : m.sender === user || m.recipient === user;
  const hitIds = (body: { result: { message: { message_id: string } }[] }) =>
    body.result.map((h) => h.message.message_id);

  beforeAll(async () => {
    api = await stack.http();
    store = stack.router!.store;
    for (const user of USERS) tokens[user] = await stack.token(user);
    for (const [uid, members] of Object.entries(GROUPS)) {
      const now = Date.now();
      await store.createGroupIfAbsent({
        app: stack.app,
        uid,
        name: uid,
        owner: members[0]!,
        members,
        attributes: null,
        volatile: false,
        createdOn: now,
        updatedOn: now,
      });
    }
    // mulberry32: deterministic and well spread in the low bits.
    let seed = 42;
    const random = (n: number) => {
      seed = (seed + 0x6d2b79f5) | 0;
      let t = Math.imul(seed ^ (seed >>> 15), 1 | seed);
      t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t;
      return ((t ^ (t >>> 14)) >>> 0) % n;
    };
    const plan = Array.from({ length: MESSAGES }, (_, i) => {
      const words = [WORDS[random(WORDS.length)], WORDS[random(WORDS.length)], `n${i}`];
      if (i % 97 === 0) words.push('quasar');
      const group = random(4) === 0 ? (random(2) ? 'g1' : 'g2') : null;
      const sender = group ? GROUPS[group]![random(5)]! : USERS[random(USERS.length)]!;
      let recipient = group ?? USERS[random(USERS.length)]!;
      if (recipient === sender) recipient = USERS[(USERS.indexOf(sender) + 1) % USERS.length]!;
      return { text: words.join(' '), sender, recipient, group };
    });
    for (let i = 0; i < plan.length; i += 25) {
      const batch = plan.slice(i, i + 25);
      const recorded = await Promise.all(
        batch.map((m) =>
          seedMessage(store, stack.app, {
            sender: m.sender,
            recipient: m.recipient,
            text: m.text,
            ...(m.group ? { group: GROUPS[m.group]! } : {}),
          }),
        ),
      );
      for (const [j, r] of recorded.entries()) seeded.push({ ...batch[j]!, id: r.message.messageId });
    }
    [u0, u1] = await Promise.all([stack.client('u0'), stack.client('u1')]);
  }, 120_000);
  afterAll(() => stack.close());

  it('finds exactly the messages each user can see, never anyone else’s', async () => {
    const rare = seeded.filter((m) => m.text.includes('quasar'));
    expect(rare.length).toBeGreaterThan(25);
    for (const user of USERS) {
      const res = await search(user, 'q=quasar&limit=100');
      expect(res.statusCode).toBe(200);
      const expected = rare.filter((m) => canSee(user, m)).map((m) => m.id);
      expect(hitIds(res.json()).sort(), user).toEqual(expected.sort());
    }
    for (const user of ['u0', 'u7']) {
      const res = (await search(user, 'q=apple%20delta&limit=100')).json();
      const visible = new Set(
        seeded
          .filter((m) => canSee(user, m) && m.text.includes('apple') && m.text.includes('delta'))
          .map((m) => m.id),
      );
      expect(visible.size).toBeGreaterThan(20);
      expect(res.result.length).toBe(Math.min(100, visible.size));
      for (const id of hitIds(res)) expect(visible.has(id)).toBe(true);
    }
  });

  it('searches one conversation, ranks better matches first, and returns HTML-safe snippets', async () => {
    const g1 = (await search('u1', 'q=quasar&conversation=g1&limit=100')).json();
    const expected = seeded.filter((m) => m.group === 'g1' && m.text.includes('quasar')).map((m) => m.id);
    expect(hitIds(g1).sort()).toEqual(expected.sort());
    expect(g1.result.every((h: { conversWith: string }) => h.conversWith === 'g1')).toBe(true);
    // u0 is not in g2: nothing, even when asking for it by name.
    expect((await search('u0', 'q=quasar&conversation=g2')).json().result).toEqual([]);

    const weak = await seedMessage(store, stack.app, {
      sender: 'u0',
      recipient: 'u1',
      text: 'zebra crossing the road today with friends',
    });
    const strong = await seedMessage(store, stack.app, {
      sender: 'u1',
      recipient: 'u0',
      text: 'zebra zebra <b>zebra</b> & co',
    });
    const res = (await search('u0', 'q=ZEBRA')).json();
    expect(hitIds(res)).toEqual([strong.message.messageId, weak.message.messageId]);
    expect(res.result[0].rank).toBeGreaterThan(res.result[1].rank);
    expect(res.result[0].snippet).toBe(
      '<mark>zebra</mark> <mark>zebra</mark> &#60;b&#62;<mark>zebra</mark>&#60;/b&#62; &#38; co',
    );
    expect(res.result[0].message).toMatchObject({
      sender: 'u1',
      recipient: 'u0',
      seq: expect.any(Number),
      status: 150,
    });
    expect((await search('u2', 'q=zebra')).json().result).toEqual([]);
  });

  it('finds messages sent over MQTT, and respects hiddenFor and leaving a group', async () => {
    await u0.publish(stack.outgoing('u0', 'g1'), { text: 'nebula before leaving', channel_type: 'group' });
    await u1.waitFor((m) => m.payload.text === 'nebula before leaving');
    await u0.publish(stack.outgoing('u0', 'g1'), {
      text: 'nebula secret',
      channel_type: 'group',
      attributes: { hiddenFor: 'u1' },
    });
    await u0.waitFor((m) => m.payload.text === 'nebula secret');
    const texts = async (user: string) =>
      (await search(user, 'q=nebula'))
        .json()
        .result.map((h: { message: { text: string } }) => h.message.text)
        .sort();
    expect(await texts('u1')).toEqual(['nebula before leaving']);
    expect(await texts('u2')).toEqual(['nebula before leaving', 'nebula secret']);
    expect(await texts('u5')).toEqual([]);

    tokens.admin = await stack.adminToken();
    const left = await api.inject({
      method: 'DELETE',
      url: `/api/${stack.app}/groups/g1/members/u2`,
      headers: { authorization: tokens.u2! },
    });
    expect(left.statusCode).toBe(200);
    await u0.publish(stack.outgoing('u0', 'g1'), { text: 'nebula after leaving', channel_type: 'group' });
    await u1.waitFor((m) => m.payload.text === 'nebula after leaving');
    expect(await texts('u2')).toEqual(['nebula before leaving', 'nebula secret']);
    expect(await texts('u1')).toEqual(['nebula after leaving', 'nebula before leaving']);
  });

  it("refuses to search another user's messages and bad queries", async () => {
    expect((await search('u1', 'q=quasar', 'u0')).statusCode).toBe(403);
    expect((await search('u0', 'q=')).statusCode).toBe(400);
    expect((await search('u0', 'q=%22%22%20-')).statusCode).toBe(400);
    expect((await search('u0', 'q=a&limit=1000')).statusCode).toBe(400);
    // Operators only, no word: an empty query matches nothing rather than failing.
    expect((await search('u0', 'q=apple%20-apple')).json().result).toEqual([]);
    // Hundreds of NOTs used to overflow PostgreSQL's tsquery stack: a 500.
    expect((await search('u0', `q=${'-'.repeat(400)}`)).statusCode).toBe(400);
    for (const q of [`quasar ${'-'.repeat(400)}`, `quasar ${'- '.repeat(240)}`, `${'-'.repeat(300)}quasar`]) {
      const res = await search('u0', `q=${encodeURIComponent(q)}`);
      expect(res.statusCode, q.slice(0, 20)).toBe(200);
    }
  });
});
