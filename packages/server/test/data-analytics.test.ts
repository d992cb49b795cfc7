import type { FastifyInstance } from 'fastify';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { seedMessage } from './support/seed.js';
import { ENGINES, TestStack } from './support/stack.js';

const DAY1 = Date.parse('2025-03-10T09:00:00Z');
const DAY2 = Date.parse('2025-03-11T09:00:00Z');

describe.each(ENGINES)('analytics and the audit log (%s)', (engine) => {
  const stack = new TestStack('analytics', { MERCURIO_RETENTION_INTERVAL_MS: '0' }, engine);
  let api: FastifyInstance;
  const tokens: Record<string, string> = {};
  const get = (who: string, path: string) =>
    api.inject({
      method: 'GET',
      url: `/api/v1/apps/${stack.app}${path}`,
      headers: { authorization: `Bearer ${tokens[who]}` },
    });

  beforeAll(async () => {
    await stack.startRouter();
    api = await stack.http();
    tokens.admin = await stack.adminToken('ops');
    tokens.amy = await stack.token('amy');
    const store = stack.router!.store;
    const seed = (sender: string, recipient: string, createdAt: number, group?: string[]) =>
      seedMessage(store, stack.app, { sender, recipient, text: 't', createdAt, ...(group ? { group } : {}) });
    // Day 1: amy asks, bea answers after 60 s, amy again; cid asks, dan answers after 120 s.
    await seed('amy', 'bea', DAY1);
    await seed('bea', 'amy', DAY1 + 60_000);
    await seed('amy', 'bea', DAY1 + 90_000);
    await seed('cid', 'dan', DAY1 + 1000);
    await seed('dan', 'cid', DAY1 + 121_000);
    // Day 2: eve asks, nobody answers; a group is opened.
    await seed('eve', 'fay', DAY2);
    await stack.createGroup('group-x', 'amy', ['amy', 'eve']);
    await seed('amy', 'group-x', DAY2 + 5000, ['amy', 'eve']);
    await seed('eve', 'group-x', DAY2 + 6000, ['amy', 'eve']);
  });
  afterAll(() => stack.close());

  it('counts messages per day and kind, active users, conversations opened, first-response times', async () => {
    const res = await get('admin', '/analytics?from=2025-03-10&to=2025-03-11');
    expect(res.statusCode).toBe(200);
    expect(res.json().result).toMatchObject({
      messagesPerDay: [
        { day: '2025-03-10', direct: 5, group: 0 },
        { day: '2025-03-11', direct: 1, group: 2 },
      ],
      activeUsersPerDay: [
        { day: '2025-03-10', users: 4 },
        { day: '2025-03-11', users: 2 },
      ],
      activeUsers: 5,
      conversationsOpened: { direct: 3, group: 1 },
      firstResponse: { opened: 3, answered: 2, medianMs: 90_000, p90Ms: 114_000 },
    });
    const dayTwo = (await get('admin', '/analytics?from=2025-03-11&to=2025-03-11')).json().result;
    expect(dayTwo.firstResponse).toEqual({ opened: 1, answered: 0, medianMs: null, p90Ms: null });
  });

  it('refuses bad ranges and non-admins with a stable code', async () => {
    for (const query of [
      'from=2025-03-12&to=2025-03-10',
      'from=2025-02-30',
      'from=2020-01-01&to=2025-01-01',
      'from=yesterday',
    ]) {
      const res = await get('admin', `/analytics?${query}`);
      expect(res.statusCode, query).toBe(400);
      expect(res.json().err.code).toBe('invalid_request');
    }
    expect((await get('amy', '/analytics')).statusCode).toBe(403);
    expect((await get('amy', '/audit')).statusCode).toBe(403);
  });

  it('records sends as another user and policy changes in the audit log, newest first, paged', async () => {
    const send = await api.inject({
      method: 'POST',
      url: `/api/${stack.app}/messages`,
      headers: { authorization: tokens.admin!, 'content-type': 'application/json' },
      payload: JSON.stringify({
        sender_id: 'helpbot',
        recipient_id: 'amy',
        text: 'hi',
        type: 'text',
        sender_fullname: 'Bot',
        recipient_fullname: 'Amy',
      }),
    });
    expect(send.statusCode).toBe(200);
    // Sending as yourself is not an admin action on someone's behalf: not audited.
    await api.inject({
      method: 'POST',
      url: `/api/${stack.app}/messages`,
      headers: { authorization: tokens.amy!, 'content-type': 'application/json' },
      payload: JSON.stringify({
        recipient_id: 'bea',
        text: 'mine',
        type: 'text',
        sender_fullname: 'A',
        recipient_fullname: 'B',
      }),
    });
    const put = await api.inject({
      method: 'PUT',
      url: `/api/v1/apps/${stack.app}/retention`,
      headers: { authorization: `Bearer ${tokens.admin}`, 'content-type': 'application/json' },
      payload: JSON.stringify({ scope: 'direct', keep_days: 90 }),
    });
    expect(put.statusCode).toBe(200);
    const all = (await get('admin', '/audit')).json();
    expect(all.result.map((e: { action: string; target: string }) => [e.action, e.target])).toEqual([
      ['retention.set', 'direct'],
      ['message.send_as', 'helpbot'],
    ]);
    expect(all.result[1]).toMatchObject({
      actor: 'ops',
      details: { message_id: send.json().message_id, recipient: 'amy' },
    });
    const page = (await get('admin', '/audit?limit=1')).json();
    expect(page.result).toHaveLength(1);
    const next = (await get('admin', `/audit?limit=1&before=${page.next_before}`)).json();
    expect(next.result[0].action).toBe('message.send_as');
    expect(next.next_before).toBeNull();
  });
});
