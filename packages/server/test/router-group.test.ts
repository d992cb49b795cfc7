import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Store } from '../src/store/store.js';
import type { TestClient } from './support/mqtt-client.js';
import { ENGINES, TestStack } from './support/stack.js';

describe.each(ENGINES)('group messages (%s)', (engine) => {
  const stack = new TestStack('group', {}, engine);
  let store: Store;
  let ann: TestClient;
  let ben: TestClient;
  let cat: TestClient;
  let dan: TestClient;

  const addedIn = (user: string, group: string) => (m: { topic: string }) =>
    m.topic === stack.topic('users', user, 'messages', group, 'clientadded');
  const errorFor = (user: string) => (m: { topic: string }) =>
    m.topic === stack.topic('users', user, 'errors', 'clientadded');

  beforeAll(async () => {
    store = (await stack.startRouter()).store;
    await stack.createGroup('group-team', 'ann', ['ann', 'ben', 'cat']);
    [ann, ben, cat, dan] = (await Promise.all(['ann', 'ben', 'cat', 'dan'].map((u) => stack.client(u)))) as [
      TestClient,
      TestClient,
      TestClient,
      TestClient,
    ];
  });
  afterAll(() => stack.close());

  it('stores one row and delivers a 150 copy to every member, the sender included', async () => {
    await ann.publish(stack.outgoing('ann', 'group-team'), { text: 'hi team', channel_type: 'group' });
    const copies = await Promise.all(
      [ann, ben, cat].map((c, i) => c.waitFor(addedIn(['ann', 'ben', 'cat'][i]!, 'group-team'))),
    );
    for (const copy of copies) {
      expect(copy.payload).toMatchObject({
        text: 'hi team',
        sender: 'ann',
        recipient: 'group-team',
        status: 150,
        seq: 1,
      });
    }
    expect(new Set(copies.map((c) => c.payload.message_id)).size).toBe(1);
    const { rows } = await stack.sql.query('SELECT count(*)::int AS n FROM messages WHERE app_id = $1', [
      stack.app,
    ]);
    expect(rows[0].n).toBe(1);
    const convs = await stack.sql.query(
      'SELECT owner, unread_count FROM conversations WHERE app_id = $1 AND convers_with = $2 ORDER BY owner',
      [stack.app, 'group-team'],
    );
    expect(convs.rows).toEqual([
      { owner: 'ann', unread_count: 0 },
      { owner: 'ben', unread_count: 1 },
      { owner: 'cat', unread_count: 1 },
    ]);
  });

  it('recognises a group-form id (Chat21: group-…) even when the client does not say channel_type', async () => {
    await ben.publish(stack.outgoing('ben', 'group-team'), { text: 'no channel type' });
    const copy = await cat.waitFor(
      (m) => addedIn('cat', 'group-team')(m) && m.payload.text === 'no channel type',
    );
    expect(copy.payload).toMatchObject({ channel_type: 'group', status: 150 });
  });

  it('refuses a non-member with an error event and delivers nothing', async () => {
    await dan.publish(stack.outgoing('dan', 'group-team'), { text: 'let me in', channel_type: 'group' });
    const error = await dan.waitFor(errorFor('dan'));
    expect(error.payload).toMatchObject({ code: 'not_a_member' });
    // A later message from a member arrives while the refused one never does.
    await cat.publish(stack.outgoing('cat', 'group-team'), { text: 'after dan', channel_type: 'group' });
    await ann.waitFor((m) => m.payload.text === 'after dan');
    expect(ann.received.some((m) => m.payload.text === 'let me in')).toBe(false);
    // The test database is shared by every test file on RabbitMQ: only this app's rows count.
    const { rows } = await stack.sql.query(
      `SELECT count(*)::int AS n FROM messages WHERE app_id = $1 AND text = 'let me in'`,
      [stack.app],
    );
    expect(rows[0].n).toBe(0);
  });

  it('refuses a group message to a group that does not exist', async () => {
    await dan.publish(stack.outgoing('dan', 'nowhere'), { text: 'anyone?', channel_type: 'group' });
    const error = await dan.waitFor((m) => errorFor('dan')(m) && m.payload.code === 'group_not_found');
    expect(error.payload.topic).toBe(stack.outgoing('dan', 'nowhere'));
  });

  it('creates an inline ("volatile") group on its first message, and a later message cannot rewrite its members', async () => {
    await dan.publish(stack.outgoing('dan', 'group-pop-up'), {
      text: 'inline hello',
      group: { name: 'Pop-up', members: { ann: 1, ben: 1 } },
    });
    const copy = await ann.waitFor(addedIn('ann', 'group-pop-up'));
    expect(copy.payload).toMatchObject({ text: 'inline hello', channel_type: 'group', sender: 'dan' });
    expect(copy.payload.group).toMatchObject({ uid: 'group-pop-up', members: { dan: 1, ann: 1, ben: 1 } });
    await dan.waitFor(addedIn('dan', 'group-pop-up'));
    const group = await store.getGroup(stack.app, 'group-pop-up');
    expect(group).toMatchObject({ volatile: true, owner: 'dan', name: 'Pop-up' });
    expect(group!.members.sort()).toEqual(['ann', 'ben', 'dan']);

    await cat.publish(stack.outgoing('cat', 'group-pop-up'), {
      text: 'me too',
      group: { members: { cat: 1, ann: 1 } },
    });
    expect((await cat.waitFor(errorFor('cat'))).payload).toMatchObject({ code: 'not_a_member' });
    expect((await store.getGroup(stack.app, 'group-pop-up'))!.members.sort()).toEqual(['ann', 'ben', 'dan']);
  });

  it('skips exactly the member named in attributes.hiddenFor', async () => {
    await ann.publish(stack.outgoing('ann', 'group-team'), {
      text: 'not for ben',
      attributes: { hiddenFor: 'ben' },
    });
    await cat.waitFor((m) => m.payload.text === 'not for ben');
    await ann.waitFor((m) => m.payload.text === 'not for ben');
    await ann.publish(stack.outgoing('ann', 'group-team'), { text: 'for everyone' });
    await ben.waitFor((m) => m.payload.text === 'for everyone');
    expect(ben.received.some((m) => m.payload.text === 'not for ben')).toBe(false);
  });

  it('delivers group-changed notifications published by a service to the listed members', async () => {
    const group = { uid: 'group-team', name: 'Renamed', owner: 'ann', members: { ann: 1, ben: 1, cat: 1 } };
    await stack.router!.bus.publish([
      { topic: { kind: 'groupsUpdate', app: stack.app }, payload: { group, notify_to: { ann: 1, ben: 1 } } },
    ]);
    const got = await ben.waitFor(
      (m) => m.topic === stack.topic('users', 'ben', 'groups', 'group-team', 'clientupdated'),
    );
    expect(got.payload).toMatchObject({ uid: 'group-team', name: 'Renamed', appId: stack.app });
    await ann.waitFor(
      (m) => m.topic === stack.topic('users', 'ann', 'groups', 'group-team', 'clientupdated'),
    );
  });

  it("ignores a user's own `groups/<id>/update` publish: users cannot change or announce groups", async () => {
    const fake = { group: { uid: 'group-team', members: { dan: 1 } }, notify_to: { ann: 1 } };
    await dan.publish(stack.topic('users', 'dan', 'groups', 'group-team', 'update'), fake);
    await dan.publish(stack.outgoing('dan', 'group-team'), { text: 'am I in?', channel_type: 'group' });
    await dan.waitFor(
      (m) =>
        errorFor('dan')(m) &&
        m.payload.code === 'not_a_member' &&
        String(m.payload.topic).endsWith('/group-team/outgoing'),
    );
    expect((await store.getGroup(stack.app, 'group-team'))!.members).not.toContain('dan');
    expect(
      ann.received.some((m) => JSON.stringify(m.payload).includes('"dan":1') && m.topic.includes('/groups/')),
    ).toBe(false);
  });
});
