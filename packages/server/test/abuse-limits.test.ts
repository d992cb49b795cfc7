import { randomUUID } from 'node:crypto';
import { setTimeout as sleep } from 'node:timers/promises';
import type { FastifyInstance } from 'fastify';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { MercurioError } from '../src/errors.js';
import { RateLimits } from '../src/limits/abuse-limits.js';
import type { Logger } from '../src/logger.js';
import type { SqlDatabase } from '../src/store/sql.js';
import type { Received } from './support/mqtt-client.js';
import { RouterProcess } from './support/router-process.js';
import { deleteRouterQueues } from './support/router-queues.js';
import { ENGINES, TestStack } from './support/stack.js';

/** Small budgets so a flood meets them at once; windows short enough to wait one out. */
const MESSAGES = 5;
const MESSAGE_WINDOW_SECONDS = 3;
const GROUPS = 2;
const SIGNALS = 4;
const LIMITS = {
  MERCURIO_RATE_MESSAGES: String(MESSAGES),
  MERCURIO_RATE_MESSAGES_WINDOW_SECONDS: String(MESSAGE_WINDOW_SECONDS),
  MERCURIO_RATE_GROUPS: String(GROUPS),
  MERCURIO_RATE_GROUPS_WINDOW_SECONDS: '600',
  MERCURIO_RATE_SIGNALS: String(SIGNALS),
  MERCURIO_RATE_SIGNALS_WINDOW_SECONDS: '600',
};

const text = (body: string) => ({
  text: body,
  type: 'text',
  sender_fullname: 'Sender',
  recipient_fullname: 'Recipient',
  channel_type: 'direct',
});

describe.each(ENGINES)('abuse limits (%s)', (engine) => {
  const stack = new TestStack('limits', LIMITS, engine);
  let api: FastifyInstance;

  const errorsOf = (user: string) => (m: Received) =>
    m.topic === stack.topic('users', user, 'errors', 'clientadded') && m.payload.code === 'rate_limited';
  const addedFor = (user: string, peer: string) => (m: Received) =>
    m.topic === stack.topic('users', user, 'messages', peer, 'clientadded');
  const post = async (user: string, path: string, payload: unknown) =>
    api.inject({
      method: 'POST',
      url: `/api/${stack.app}${path}`,
      headers: { authorization: await stack.token(user), 'content-type': 'application/json' },
      payload: JSON.stringify(payload),
    });
  const storedFrom = async (sender: string) => {
    const { rows } = await stack.sql.query<{ n: number }>(
      'SELECT count(*)::int AS n FROM messages WHERE app_id = $1 AND sender = $2',
      [stack.app, sender],
    );
    return rows[0]!.n;
  };

  beforeAll(async () => {
    await stack.startRouter();
    api = await stack.http();
  });
  afterAll(() => stack.close());

  it('refuses a flooder over MQTT with rate_limited and a retry time, while a bystander keeps talking; after the window the flooder may send again', async () => {
    const [mallory, alice, bob] = await Promise.all([
      stack.client('mallory'),
      stack.client('alice'),
      stack.client('bob'),
    ]);
    const flood = Array.from({ length: 12 }, (_, i) => ({ ...text(`spam ${i}`), message_id: randomUUID() }));
    await Promise.all([
      ...flood.map((message) => mallory.publish(stack.outgoing('mallory', 'bob'), message)),
      ...[1, 2, 3].map((i) => alice.publish(stack.outgoing('alice', 'bob'), text(`hi ${i}`))),
    ]);

    // The bystander's messages all arrive; the flooder gets exactly the budget through.
    await bob.waitForCount(addedFor('bob', 'alice'), 3);
    const refusals = await mallory.waitForCount(errorsOf('mallory'), flood.length - MESSAGES);
    await bob.waitForCount(addedFor('bob', 'mallory'), MESSAGES);
    expect(await storedFrom('mallory')).toBe(MESSAGES);
    expect(await storedFrom('alice')).toBe(3);
    for (const refusal of refusals) {
      expect(refusal.payload).toMatchObject({
        code: 'rate_limited',
        topic: stack.outgoing('mallory', 'bob'),
      });
      expect(refusal.payload.retry_after_ms).toBeGreaterThan(0);
      expect(refusal.payload.retry_after_ms).toBeLessThanOrEqual(MESSAGE_WINDOW_SECONDS * 1000);
      expect(flood.map((m) => m.message_id)).toContain(refusal.payload.message_id);
    }
    const refusedIds = new Set(refusals.map((r) => r.payload.message_id));
    const delivered = bob.received.filter(addedFor('bob', 'mallory')).map((m) => m.payload.message_id);
    expect(delivered.some((id) => refusedIds.has(id))).toBe(false);

    // Waiting as long as the server said is enough.
    const wait = Math.max(...refusals.map((r) => r.payload.retry_after_ms as number));
    await sleep(wait + 50);
    await mallory.publish(stack.outgoing('mallory', 'bob'), text('after the window'));
    await bob.waitFor((m) => addedFor('bob', 'mallory')(m) && m.payload.text === 'after the window');
  });

  it('answers an HTTP flood with 429 and Retry-After, and never accepts a send it will drop', async () => {
    const bob = await stack.client('bob');
    const statuses: number[] = [];
    let refused: Awaited<ReturnType<typeof post>> | undefined;
    for (let i = 0; i < MESSAGES + 3; i++) {
      const res = await post('hector', '/messages', { ...text(`http spam ${i}`), recipient_id: 'bob' });
      statuses.push(res.statusCode);
      if (res.statusCode === 429) refused ??= res;
    }
    expect(statuses).toEqual([...Array(MESSAGES).fill(200), 429, 429, 429]);
    expect(refused!.headers['x-mercurio-error']).toBe('rate_limited');
    const retryAfter = Number(refused!.headers['retry-after']);
    expect(retryAfter).toBeGreaterThanOrEqual(1);
    expect(retryAfter).toBeLessThanOrEqual(MESSAGE_WINDOW_SECONDS);
    expect(refused!.json()).toMatchObject({ success: false, code: 'rate_limited' });

    // A bystander's send is not affected; every accepted send is delivered (none refused later).
    const bystander = await post('alice', '/messages', { ...text('still here'), recipient_id: 'bob' });
    expect(bystander.statusCode).toBe(200);
    await bob.waitFor((m) => addedFor('bob', 'alice')(m) && m.payload.text === 'still here');
    await bob.waitForCount(addedFor('bob', 'hector'), MESSAGES);
    expect(await storedFrom('hector')).toBe(MESSAGES);
  });

  it('limits groups created over REST (429 + Retry-After); another user still creates groups', async () => {
    const create = (user: string, i: number) =>
      post(user, '/groups', {
        group_id: `group-${user}-${i}-${randomUUID()}`,
        group_name: `g${i}`,
        group_members: { bob: 1 },
      });
    const statuses: number[] = [];
    for (let i = 0; i < GROUPS + 2; i++) statuses.push((await create('gwen', i)).statusCode);
    expect(statuses).toEqual([...Array(GROUPS).fill(201), 429, 429]);
    const refused = await create('gwen', 99);
    expect(refused.statusCode).toBe(429);
    expect(Number(refused.headers['retry-after'])).toBeGreaterThan(0);
    expect(refused.headers['x-mercurio-error']).toBe('rate_limited');
    expect((await create('alice', 1)).statusCode).toBe(201);
    const { rows } = await stack.sql.query<{ n: number }>(
      'SELECT count(*)::int AS n FROM groups WHERE app_id = $1 AND owner = $2',
      [stack.app, 'gwen'],
    );
    expect(rows[0]!.n).toBe(GROUPS);
  });

  it('limits inline groups created by outgoing messages: the next one is refused with rate_limited, no group stored', async () => {
    const ingrid = await stack.client('ingrid');
    const groups = Array.from({ length: GROUPS + 1 }, () => `group-inline-${randomUUID()}`);
    for (const [i, groupId] of groups.entries()) {
      await ingrid.publish(stack.outgoing('ingrid', groupId), {
        ...text(`inline ${i}`),
        channel_type: 'group',
        group: { name: `inline ${i}`, members: { ingrid: 1, bob: 1 } },
      });
    }
    const refusal = await ingrid.waitFor(errorsOf('ingrid'));
    expect(refusal.payload).toMatchObject({
      code: 'rate_limited',
      topic: stack.outgoing('ingrid', groups[GROUPS]!),
    });
    expect(refusal.payload.retry_after_ms).toBeGreaterThan(0);
    await ingrid.waitForCount((m) => m.topic.includes('/messages/group-inline-'), GROUPS);
    const { rows } = await stack.sql.query<{ uid: string }>(
      'SELECT group_id AS uid FROM groups WHERE app_id = $1 AND owner = $2',
      [stack.app, 'ingrid'],
    );
    expect(rows.map((row) => row.uid).sort()).toEqual(groups.slice(0, GROUPS).sort());
  });

  it('gives typing floods their own budget: refused beyond it, while messages still go through', async () => {
    const [tom, bob] = await Promise.all([stack.client('tom'), stack.client('bob')]);
    for (let i = 0; i < SIGNALS + 3; i++) {
      await tom.publish(stack.topic('users', 'tom', 'typing', 'bob'), { typing: true });
    }
    await tom.waitForCount(errorsOf('tom'), 3);
    const typed = (m: Received) => m.topic === stack.topic('users', 'bob', 'typing', 'tom', 'clientupdated');
    await bob.waitForCount(typed, SIGNALS);
    await tom.publish(stack.outgoing('tom', 'bob'), text('a real message'));
    await bob.waitFor((m) => addedFor('bob', 'tom')(m) && m.payload.text === 'a real message');
    expect(bob.received.filter(typed)).toHaveLength(SIGNALS);
  });
});

describe('abuse limits across router processes (rabbitmq)', () => {
  // No router in this process: two router processes split the shards, as on two hosts.
  const stack = new TestStack('limits-2r', LIMITS, 'rabbitmq');
  // Logging at info, the children print "router consuming" when ready (and refusals at warn).
  const env = {
    ...stack.routerEnv,
    ...LIMITS,
    MERCURIO_RATE_MESSAGES_WINDOW_SECONDS: '600',
    MERCURIO_LOG_LEVEL: 'info',
  };
  const routers = [new RouterProcess(env), new RouterProcess(env)];

  beforeAll(async () => {
    // Each holds shards before the flood starts.
    await Promise.all(routers.map((router) => router.start('consuming shards')));
  }, 90_000);
  afterAll(async () => {
    await Promise.all(routers.map((router) => router.kill('SIGTERM')));
    await stack.close();
    await deleteRouterQueues(stack.config).catch(() => {});
  });

  it('shares one budget: the flooder cannot get twice the limit through two routers', async () => {
    const mallory = await stack.client('mallory');
    const total = 4 * MESSAGES;
    // To many peers: the conversations spread over the shards, and so over both routers.
    await Promise.all(
      Array.from({ length: total }, (_, i) =>
        mallory.publish(stack.outgoing('mallory', `peer-${i % 16}`), text(`spam ${i}`)),
      ),
    );
    const refused = await mallory.waitForCount(
      (m) => m.topic === stack.topic('users', 'mallory', 'errors', 'clientadded'),
      total - MESSAGES,
      20_000,
    );
    expect(refused.every((m) => m.payload.code === 'rate_limited')).toBe(true);
    const stored = async () =>
      (
        await stack.sql.query<{ n: number }>(
          'SELECT count(*)::int AS n FROM messages WHERE app_id = $1 AND sender = $2',
          [stack.app, 'mallory'],
        )
      ).rows[0]!.n;
    // The accepted ones are stored while the refusals arrive; then no more come.
    for (const deadline = Date.now() + 10_000; (await stored()) < MESSAGES && Date.now() < deadline; )
      await new Promise((resolve) => setTimeout(resolve, 100));
    await new Promise((resolve) => setTimeout(resolve, 500));
    expect(await stored()).toBe(MESSAGES);
    // Both routers took part, so a per-process budget would have let 2× through.
    expect(routers.every((router) => router.output.includes('message refused'))).toBe(true);
  }, 30_000);
});

describe('abuse limits when their database fails', () => {
  it('fail over to this process’s memory with one warning: nothing is refused wrongly, a flooder is still stopped', async () => {
    const warnings: unknown[] = [];
    const log = { warn: (...args: unknown[]) => warnings.push(args) } as unknown as Logger;
    const down = {
      query: () => Promise.reject(new Error('connect ECONNREFUSED')),
    } as unknown as SqlDatabase;
    const budget = { points: 3, windowSeconds: 60 };
    const limits = new RateLimits(
      { messages: budget, signals: budget, groups: budget, exemptUsers: ['bot'] },
      { kind: 'postgres', db: down },
      log,
    );
    try {
      for (let i = 0; i < 3; i++) await limits.take('message', 'app', 'mallory');
      const refusal = await limits.take('message', 'app', 'mallory').catch((error: unknown) => error);
      expect(refusal).toBeInstanceOf(MercurioError);
      expect((refusal as MercurioError).code).toBe('rate_limited');
      expect((refusal as MercurioError).details?.retry_after_ms).toBeGreaterThan(0);
      await limits.take('message', 'app', 'alice');
      for (let i = 0; i < 10; i++) await limits.take('message', 'app', 'bot');
      expect(warnings).toHaveLength(1);
    } finally {
      await limits.close();
    }
  });
});
