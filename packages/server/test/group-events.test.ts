/**
 * The exact group events of Chat21's REST routes (chat21-protocol.md §3.5, routes 14–19), per
 * recipient: create, join, leave, set-members, rename. Chat21 clients count these (a group-updated
 * event too many at creation was a reported incompatibility), so the whole sequence each member
 * sees is asserted, not only that something arrived. Where Mercurio differs on purpose it fixes a
 * Chat21 defect: set-members tells the new and the removed members too (§12 #21), and the history
 * a new member gets never holds the info message of their own joining (§12 #18).
 */
import type { FastifyInstance } from 'fastify';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { callApi } from './support/http-call.js';
import type { Received, TestClient } from './support/mqtt-client.js';
import { ENGINES, TestStack } from './support/stack.js';

const USERS = ['ann', 'ben', 'cat', 'dan', 'eve'] as const;
type User = (typeof USERS)[number];
const GROUP = 'group-events';

describe.each(ENGINES)('group events, exactly as Chat21 sends them (%s)', (engine) => {
  const stack = new TestStack('grp-events', {}, engine);
  let api: FastifyInstance;
  const clients = {} as Record<User, TestClient>;
  const tokens = {} as Record<User, string>;

  const call = async (user: User, method: 'POST' | 'PUT' | 'DELETE', path: string, payload?: unknown) => {
    const res = await callApi(api, tokens[user], method, `/api/${stack.app}${path}`, payload);
    expect(res.statusCode, res.body).toBeLessThan(300);
  };

  const inGroup = (user: User, kind: 'messages' | 'groups') => (m: Received) =>
    m.topic.startsWith(stack.topic('users', user, kind, GROUP, ''));
  /** Group-updated events: their notification key (and its member), or 'update' when unlabelled. */
  const updates = (user: User) =>
    clients[user].received.filter(inGroup(user, 'groups')).map((m) => {
      const label = (
        m.payload.notification as { messagelabel?: { key: string; parameters: Record<string, unknown> } }
      )?.messagelabel;
      if (!label) return 'update';
      return label.parameters.member_id ? `${label.key} ${label.parameters.member_id}` : label.key;
    });
  /** Info messages as the member saw them live, and those replayed as history when they joined. */
  const infos = (user: User, history: boolean) =>
    clients[user].received
      .filter(
        (m) =>
          inGroup(user, 'messages')(m) &&
          m.payload.sender === 'system' &&
          (m.payload.__history === 'true') === history,
      )
      .map((m) => {
        expect(m.payload).toMatchObject({ channel_type: 'group', attributes: { subtype: 'info' } });
        return m.payload.text;
      });
  const waitInfos = (users: User[], text: string) =>
    Promise.all(
      users.map((u) => clients[u].waitFor((m) => inGroup(u, 'messages')(m) && m.payload.text === text)),
    );
  const waitUpdates = (users: User[], count: (u: User) => number) =>
    Promise.all(users.map((u) => clients[u].waitForCount(inGroup(u, 'groups'), count(u))));

  beforeAll(async () => {
    api = await stack.http();
    for (const user of USERS) {
      clients[user] = await stack.client(user);
      tokens[user] = await stack.token(user);
    }
  });
  afterAll(() => stack.close());

  it('create, join, leave, set members, rename: every member sees exactly Chat21’s events', async () => {
    // #14 create: the info messages only (no group-updated event).
    await call('ann', 'POST', '/groups', {
      group_id: GROUP,
      group_name: 'Team',
      group_members: { ben: 1, cat: 1 },
    });
    const created = ['Group created', ...['ann', 'ben', 'cat'].map((m) => `${m} joined group on creation`)];
    await waitInfos(['ann', 'ben', 'cat'], created.at(-1)!);
    // #16 join: everyone including dan hears MEMBER_JOINED_GROUP; dan gets the history first.
    await call('ann', 'POST', `/groups/${GROUP}/members`, { member_id: 'dan' });
    await waitInfos(['ann', 'ben', 'cat', 'dan'], 'dan added to group');
    // #18 cat leaves: the old members (cat too) hear MEMBER_LEFT_GROUP; the rest get the info message.
    await call('cat', 'DELETE', `/groups/${GROUP}/members/cat`);
    await waitInfos(['ann', 'ben', 'dan'], 'cat removed from group');
    // #17 set members {ann, ben, eve}: dan out, eve in.
    await call('ann', 'PUT', `/groups/${GROUP}/members`, { members: { ann: 1, ben: 1, eve: 1 } });
    await waitInfos(['ann', 'ben', 'eve'], 'dan removed from group');
    // #19 rename.
    await call('ann', 'PUT', `/groups/${GROUP}`, { group_name: 'Team 2' });
    await waitUpdates(['ann', 'ben', 'eve'], (u) => (u === 'eve' ? 2 : 4));
    // A last message from a member: everything before it has arrived.
    await clients.ann.publish(stack.outgoing('ann', GROUP), { text: 'the end', channel_type: 'group' });
    await Promise.all(
      (['ann', 'ben', 'eve'] as const).map((u) => clients[u].waitFor((m) => m.payload.text === 'the end')),
    );
    await clients.cat.publish(stack.outgoing('cat', 'ann'), { text: 'sentinel cat' });
    await clients.dan.publish(stack.outgoing('dan', 'ann'), { text: 'sentinel dan' });
    await clients.ann.waitFor((m) => m.payload.text === 'sentinel cat');
    await clients.ann.waitFor((m) => m.payload.text === 'sentinel dan');

    const stayed = [
      ...created,
      'dan added to group',
      'cat removed from group',
      'eve added to group',
      'dan removed from group',
    ];
    const live = (user: User) => infos(user, false);
    expect(live('ann')).toEqual(stayed);
    expect(live('ben')).toEqual(stayed);
    expect(live('cat')).toEqual([...created, 'dan added to group']);
    expect(live('dan')).toEqual(['dan added to group', 'cat removed from group']);
    expect(live('eve')).toEqual(['eve added to group', 'dan removed from group']);
    expect(infos('dan', true)).toEqual(created);
    expect(infos('eve', true)).toEqual([...created, 'dan added to group', 'cat removed from group']);
    for (const u of ['ann', 'ben', 'cat'] as const) expect(infos(u, true)).toEqual([]);

    const stayedUpdates = [
      'MEMBER_JOINED_GROUP dan',
      'MEMBER_LEFT_GROUP cat',
      'update',
      'DATA_UPDATED_GROUP',
    ];
    expect(updates('ann')).toEqual(stayedUpdates);
    expect(updates('ben')).toEqual(stayedUpdates);
    expect(updates('cat')).toEqual(['MEMBER_JOINED_GROUP dan', 'MEMBER_LEFT_GROUP cat']);
    expect(updates('dan')).toEqual(['MEMBER_JOINED_GROUP dan', 'MEMBER_LEFT_GROUP cat', 'update']);
    expect(updates('eve')).toEqual(['update', 'DATA_UPDATED_GROUP']);
  });
});
