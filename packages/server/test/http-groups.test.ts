import type { FastifyInstance } from 'fastify';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { callApi } from './support/http-call.js';
import type { Received, TestClient } from './support/mqtt-client.js';
import { seedMessage } from './support/seed.js';
import { TestStack } from './support/stack.js';

describe('HTTP API: groups', () => {
  const stack = new TestStack('http-grp');
  let api: FastifyInstance;
  const clients: Record<string, TestClient> = {};
  const tokens: Record<string, string> = {};
  const users = ['ann', 'ben', 'cat', 'dan', 'eve'];

  const call = (user: string, method: 'GET' | 'POST' | 'PUT' | 'DELETE', path: string, payload?: unknown) =>
    callApi(api, tokens[user]!, method, `/api/${stack.app}${path}`, payload);
  const groupUpdated = (user: string, group: string) => (m: Received) =>
    m.topic === stack.topic('users', user, 'groups', group, 'clientupdated');
  const info = (user: string, group: string, text: string) => (m: Received) =>
    m.topic === stack.topic('users', user, 'messages', group, 'clientadded') && m.payload.text === text;
  const members = async (group: string) =>
    (
      await stack.sql.query<{ member_id: string }>(
        'SELECT member_id FROM group_members WHERE app_id = $1 AND group_id = $2 ORDER BY member_id',
        [stack.app, group],
      )
    ).rows.map((row) => row.member_id);

  beforeAll(async () => {
    api = await stack.http();
    for (const user of users) {
      tokens[user] = await stack.token(user);
      clients[user] = await stack.client(user);
    }
    tokens.admin = await stack.adminToken();
  });
  afterAll(() => stack.close());

  it('#14 creates a group: stored, members notified, info messages from system', async () => {
    const res = await call('ann', 'POST', '/groups', {
      group_id: 'group-team',
      group_name: 'The team',
      group_members: { ben: 1, cat: 1 },
      attributes: { projectId: 'p1' },
    });
    expect(res.statusCode).toBe(201);
    expect(res.json()).toEqual({
      success: true,
      group: {
        uid: 'group-team',
        name: 'The team',
        appId: stack.app,
        owner: 'ann',
        members: { ann: 1, ben: 1, cat: 1 },
        createdOn: expect.any(Number),
        updatedOn: expect.any(Number),
        attributes: { projectId: 'p1' },
      },
    });
    expect(await members('group-team')).toEqual(['ann', 'ben', 'cat']);
    const created = await clients.ben!.waitFor(info('ben', 'group-team', 'Group created'));
    expect(created.payload).toMatchObject({
      sender: 'system',
      sender_fullname: 'System',
      recipient: 'group-team',
      recipient_fullname: 'The team',
      channel_type: 'group',
      status: 150,
      attributes: {
        subtype: 'info',
        updateconversation: true,
        messagelabel: { key: 'GROUP_CREATED', parameters: { creator: 'ann' } },
      },
    });
    for (const member of ['ann', 'ben', 'cat']) {
      const joined = await clients.cat!.waitFor(
        info('cat', 'group-team', `${member} joined group on creation`),
      );
      expect(joined.payload.attributes).toMatchObject({
        messagelabel: { key: 'MEMBER_JOINED_GROUP', parameters: { member_id: member } },
      });
    }
    // As Chat21: creation sends the info messages only, no group-updated event.
    for (const member of ['ann', 'ben', 'cat']) {
      expect(clients[member]!.received.some(groupUpdated(member, 'group-team'))).toBe(false);
    }
    expect(clients.dan!.received.some((m) => m.topic.includes('/group-team/'))).toBe(false);
    // The info messages made everyone's conversation row.
    expect((await call('ben', 'GET', '/ben/conversations')).json().result[0]).toMatchObject({
      conversWith: 'group-team',
      channel_type: 'group',
    });
  });

  it('#14 refuses to overwrite an existing group (409) and validates the body like Chat21 (405)', async () => {
    const takeover = await call('dan', 'POST', '/groups', {
      group_id: 'group-team',
      group_name: 'Mine now',
      group_members: { dan: 1 },
    });
    expect(takeover.statusCode).toBe(409);
    expect(takeover.json()).toMatchObject({ success: false, code: 'group_exists' });
    const admin = await call('admin', 'POST', '/groups', {
      group_id: 'group-team',
      group_name: 'x',
      group_members: {},
    });
    expect(admin.statusCode).toBe(409);
    expect(await members('group-team')).toEqual(['ann', 'ben', 'cat']);
    const { rows } = await stack.sql.query(
      'SELECT name, owner FROM groups WHERE app_id = $1 AND group_id = $2',
      [stack.app, 'group-team'],
    );
    expect(rows).toEqual([{ name: 'The team', owner: 'ann' }]);

    const noName = await call('dan', 'POST', '/groups', { group_members: { ann: 1 } });
    expect(noName.statusCode).toBe(405);
    expect(noName.body).toBe('group_name not present!');
    const noMembers = await call('dan', 'POST', '/groups', { group_name: 'x' });
    expect(noMembers.statusCode).toBe(405);
    expect(noMembers.body).toBe('group_members not present!');
    const badMember = await call('dan', 'POST', '/groups', { group_name: 'x', group_members: { 'a/b': 1 } });
    expect(badMember.statusCode).toBe(405);
    expect(badMember.headers['x-mercurio-error']).toBe('invalid_request');
  });

  it('#14 lets an admin create a group for an owner without joining it; a user cannot pick another owner', async () => {
    const res = await call('admin', 'POST', '/groups', {
      group_name: 'Support',
      group_members: { eve: 1 },
      group_owner: 'eve',
    });
    expect(res.statusCode).toBe(201);
    const group = res.json().group;
    expect(group.uid).toMatch(/^group-[0-9a-f-]{36}$/);
    expect(group).toMatchObject({ owner: 'eve', members: { eve: 1 } });
    const refused = await call('dan', 'POST', '/groups', {
      group_name: 'x',
      group_members: {},
      group_owner: 'eve',
    });
    expect(refused.statusCode).toBe(401);
  });

  it('#15 shows a group to its members and admins only', async () => {
    const ok = await call('ben', 'GET', '/groups/group-team');
    expect(ok.json()).toMatchObject({
      success: true,
      result: { uid: 'group-team', members: { ann: 1, ben: 1, cat: 1 } },
    });
    expect((await call('admin', 'GET', '/groups/group-team')).statusCode).toBe(200);
    const outsider = await call('dan', 'GET', '/groups/group-team');
    expect(outsider.statusCode).toBe(401);
    expect(outsider.json()).toEqual({ success: false, err: 'Permission denied', code: 'forbidden' });
    const missing = await call('dan', 'GET', '/groups/nope');
    expect(missing.statusCode).toBe(404);
    expect(missing.json()).toEqual({ success: false, err: "Group doesn't exist", code: 'group_not_found' });
    // Groups are scoped by app: a token of another app cannot see this one.
    const other = await api.inject({
      method: 'GET',
      url: '/api/other-app/groups/group-team',
      headers: { authorization: tokens.ben! },
    });
    expect(other.statusCode).toBe(401);
  });

  it('#16 lets only the owner or an admin add a member, who gets the newest 200 messages', async () => {
    for (let i = 1; i <= 260; i++) {
      await seedMessage(stack.router!.store, stack.app, {
        sender: 'ben',
        recipient: 'group-team',
        text: `old ${i}`,
        group: ['ann', 'ben', 'cat'],
      });
    }
    const byMember = await call('ben', 'POST', '/groups/group-team/members', { member_id: 'dan' });
    expect(byMember.statusCode).toBe(401);
    expect(byMember.json()).toMatchObject({ code: 'forbidden' });
    expect((await call('ann', 'POST', '/groups/group-team/members', {})).body).toBe(
      'member_id is mandatory!',
    );

    const res = await call('ann', 'POST', '/groups/group-team/members', { member_id: 'dan' });
    expect(res.statusCode).toBe(200);
    expect(res.json()).toEqual({ success: true });
    expect(await members('group-team')).toEqual(['ann', 'ben', 'cat', 'dan']);
    const history = await clients.dan!.waitForCount(
      (m) => m.topic.endsWith('/messages/group-team/clientadded') && m.payload.__history === 'true',
      200,
    );
    const texts = history.map((m) => m.payload.text);
    // The newest 200 (Chat21 replayed the oldest), oldest first; the four info messages are older.
    expect(texts[0]).toBe('old 61');
    expect(texts[199]).toBe('old 260');
    expect(history.every((m) => m.payload.status === 150)).toBe(true);
    expect(history[0]!.payload.attributes).toMatchObject({ sendnotification: false });
    const added = await clients.ben!.waitFor(info('ben', 'group-team', 'dan added to group'));
    expect(added.payload.attributes).toMatchObject({
      messagelabel: { key: 'MEMBER_JOINED_GROUP', parameters: { member_id: 'dan' } },
    });
    await clients.dan!.waitFor(info('dan', 'group-team', 'dan added to group'));
    for (const member of ['ann', 'ben', 'cat', 'dan']) {
      const update = await clients[member]!.waitFor(
        (m) =>
          groupUpdated(member, 'group-team')(m) &&
          (m.payload.notification as { messagelabel?: { key?: string } } | undefined)?.messagelabel?.key ===
            'MEMBER_JOINED_GROUP',
      );
      expect(update.payload.members).toEqual({ ann: 1, ben: 1, cat: 1, dan: 1 });
    }
    const again = await call('admin', 'POST', '/groups/group-team/members', { member_id: 'dan' });
    expect(again.statusCode).toBe(409);
    expect(again.json()).toMatchObject({ code: 'already_member' });
    expect((await call('ann', 'POST', '/groups/nope/members', { member_id: 'dan' })).statusCode).toBe(404);
    // The new member can write to the group now, through the router.
    await clients.dan!.publish(stack.outgoing('dan', 'group-team'), {
      text: 'hi all',
      channel_type: 'group',
    });
    await clients.ann!.waitFor(info('ann', 'group-team', 'hi all'));
  });

  it('#18 lets a member leave but not remove another; the owner may remove anyone', async () => {
    const other = await call('ben', 'DELETE', '/groups/group-team/members/cat');
    expect(other.statusCode).toBe(401);
    expect(await members('group-team')).toEqual(['ann', 'ben', 'cat', 'dan']);

    const leave = await call('dan', 'DELETE', '/groups/group-team/members/dan');
    expect(leave.statusCode).toBe(200);
    expect(await members('group-team')).toEqual(['ann', 'ben', 'cat']);
    const left = await clients.dan!.waitFor(
      (m) =>
        groupUpdated('dan', 'group-team')(m) &&
        (m.payload.notification as { messagelabel: { key: string } } | undefined)?.messagelabel.key ===
          'MEMBER_LEFT_GROUP',
    );
    expect(left.payload.members).toEqual({ ann: 1, ben: 1, cat: 1 });
    await clients.ann!.waitFor(info('ann', 'group-team', 'dan removed from group'));
    // After leaving, dan sees the history up to his leaving and nothing later.
    await clients.ann!.publish(stack.outgoing('ann', 'group-team'), {
      text: 'after dan left',
      channel_type: 'group',
    });
    await clients.ben!.waitFor(info('ben', 'group-team', 'after dan left'));
    const danHistory = await api.inject({
      method: 'GET',
      url: `/api/v1/apps/${stack.app}/users/dan/conversations/group-team/messages?limit=5`,
      headers: { authorization: tokens.dan! },
    });
    const texts = danHistory.json().result.map((m: { text: string }) => m.text);
    expect(texts).toContain('dan added to group');
    expect(texts).toContain('hi all');
    expect(texts).not.toContain('after dan left');
    expect(texts).not.toContain('dan removed from group');
    expect(clients.dan!.received.some((m) => m.payload.text === 'after dan left')).toBe(false);

    expect((await call('ann', 'DELETE', '/groups/group-team/members/dan')).statusCode).toBe(404);
    expect((await call('ann', 'DELETE', '/groups/group-team/members/dan')).json()).toMatchObject({
      code: 'member_not_found',
    });
    const removed = await call('ann', 'DELETE', '/groups/group-team/members/cat');
    expect(removed.statusCode).toBe(200);
    expect(await members('group-team')).toEqual(['ann', 'ben']);
    await clients.cat!.waitFor(groupUpdated('cat', 'group-team'));
  });

  it('#17 replaces the members (owner or admin); added ones get history, removed ones are told', async () => {
    expect((await call('ben', 'PUT', '/groups/group-team/members', { members: { ben: 1 } })).statusCode).toBe(
      401,
    );
    expect((await call('ann', 'PUT', '/groups/group-team/members', {})).body).toBe('members is mandatory!');
    const res = await call('ann', 'PUT', '/groups/group-team/members', { members: { ann: 1, eve: 1 } });
    expect(res.statusCode).toBe(200);
    expect(await members('group-team')).toEqual(['ann', 'eve']);
    await clients.eve!.waitForCount(
      (m) => m.topic.endsWith('/messages/group-team/clientadded') && m.payload.__history === 'true',
      200,
    );
    await clients.eve!.waitFor(info('eve', 'group-team', 'eve added to group'));
    await clients.ben!.waitFor(
      (m) => groupUpdated('ben', 'group-team')(m) && !(m.payload.members as Record<string, number>).ben,
    );
    await clients.ann!.waitFor(info('ann', 'group-team', 'ben removed from group'));
    // The same members again: nothing to do.
    expect(
      (await call('admin', 'PUT', '/groups/group-team/members', { members: { ann: 1, eve: 1 } })).statusCode,
    ).toBe(200);
  });

  it('#19/#20 rename and replace attributes (owner or admin), notifying the members', async () => {
    expect((await call('eve', 'PUT', '/groups/group-team', { group_name: 'Eve’s' })).statusCode).toBe(401);
    expect((await call('ann', 'PUT', '/groups/group-team', {})).body).toBe('group_name is mandatory!');
    expect((await call('ann', 'PUT', '/groups/group-team', { group_name: 'Renamed' })).statusCode).toBe(200);
    const renamed = await clients.eve!.waitFor(
      (m) => groupUpdated('eve', 'group-team')(m) && m.payload.name === 'Renamed',
    );
    expect(renamed.payload.notification).toEqual({
      messagelabel: { key: 'DATA_UPDATED_GROUP', parameters: { group_name: 'Renamed' } },
    });

    expect(
      (await call('eve', 'PUT', '/groups/group-team/attributes', { attributes: { x: 1 } })).statusCode,
    ).toBe(401);
    expect((await call('ann', 'PUT', '/groups/group-team/attributes', { attributes: 'x' })).statusCode).toBe(
      405,
    );
    expect(
      (await call('admin', 'PUT', '/groups/group-team/attributes', { attributes: { color: 'blue' } }))
        .statusCode,
    ).toBe(200);
    const attrs = await clients.ann!.waitFor(
      (m) =>
        groupUpdated('ann', 'group-team')(m) &&
        (m.payload.attributes as { color?: string } | undefined)?.color === 'blue',
    );
    expect(attrs.payload.notification).toMatchObject({ messagelabel: { key: 'ATTRIBUTES_UPDATED_GROUP' } });
    const { rows } = await stack.sql.query(
      'SELECT name, attributes FROM groups WHERE app_id = $1 AND group_id = $2',
      [stack.app, 'group-team'],
    );
    expect(rows).toEqual([{ name: 'Renamed', attributes: { color: 'blue' } }]);
  });

  it('#21/#22 bulk timeline deletes are admin-only', async () => {
    const count = async (table: string) =>
      (
        await stack.sql.query(
          `SELECT count(*)::int AS n FROM ${table} WHERE app_id = $1 AND conversation_key = 'g/group-team'`,
          [stack.app],
        )
      ).rows[0].n as number;
    expect(await count('messages')).toBeGreaterThan(260);
    for (const user of ['ann', 'eve', 'dan']) {
      expect((await call(user, 'DELETE', '/group-team/conversations/timelines')).statusCode).toBe(401);
      expect((await call(user, 'DELETE', '/group-team/messages/timelines')).statusCode).toBe(401);
    }
    expect(await count('conversations')).toBeGreaterThan(0);
    const conversations = await call('admin', 'DELETE', '/group-team/conversations/timelines');
    expect(conversations.statusCode).toBe(200);
    expect(conversations.json()).toMatchObject({ success: true });
    expect(await count('conversations')).toBe(0);
    const messages = await call('admin', 'DELETE', '/group-team/messages/timelines');
    expect(messages.statusCode).toBe(200);
    expect(await count('messages')).toBe(0);
  });
});
