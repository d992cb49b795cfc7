import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { TestClient } from './support/mqtt-client.js';
import { RouterProcess } from './support/router-process.js';
import { TestStack } from './support/stack.js';

const PAIRS = [
  ['s1', 'r1'],
  ['s2', 'r2'],
  ['s3', 'r1'],
] as const;
const PER_PAIR = 1000;

describe('a router killed with SIGKILL mid-stream loses nothing and duplicates nothing', () => {
  // Log at info so the child prints "router consuming" when it is ready.
  const stack = new TestStack('crash');
  // Each sender sends 1000 messages at once: far over the default abuse limit, which stays in the path.
  const routerEnv = {
    ...stack.routerEnv,
    MERCURIO_LOG_LEVEL: 'info',
    MERCURIO_PREFETCH: '100',
    MERCURIO_RATE_MESSAGES: '1000000',
  };
  let router = new RouterProcess(routerEnv);
  const clients = new Map<string, TestClient>();

  beforeAll(async () => {
    await router.start();
    for (const user of new Set(PAIRS.flat())) clients.set(user, await stack.client(user));
  });
  afterAll(async () => {
    await router.kill('SIGTERM');
    await stack.close();
  });

  it(`delivers and stores each of ${PAIRS.length * PER_PAIR} messages exactly once`, {
    timeout: 120_000,
  }, async () => {
    const sent = new Map<string, string>(); // message_id -> recipient
    const publishing = PAIRS.map(async ([sender, recipient]) => {
      const client = clients.get(sender)!;
      for (let i = 0; i < PER_PAIR; i++) {
        const id = randomUUID();
        sent.set(id, recipient);
        await client.publish(stack.outgoing(sender, recipient), { text: `${sender} ${i}`, message_id: id });
      }
    });

    // Kill the router once a good part of the stream went through, while the rest is in flight.
    const r1 = clients.get('r1')!;
    await r1.waitForCount((m) => m.topic.endsWith('/clientadded'), 400, 60_000);
    expect(await router.kill('SIGKILL')).toBe(null);
    await Promise.all(publishing);
    // The kill really was mid-stream: part of the stream was not stored yet.
    const { rows: atKill } = await stack.sql.query(
      'SELECT count(*)::int AS n FROM messages WHERE app_id = $1',
      [stack.app],
    );
    expect(atKill[0].n).toBeLessThan(sent.size);
    router = new RouterProcess(routerEnv);
    await router.start();

    const recipients = new Set(PAIRS.map(([, r]) => r));
    for (const recipient of recipients) {
      const expected = [...sent].filter(([, r]) => r === recipient).length;
      const client = clients.get(recipient)!;
      // Client-side dedupe by message_id, as a Chat21 client or the SDK does.
      const unique = new Set<string>();
      let seen = 0;
      const dedupe = () => {
        for (; seen < client.received.length; seen++) {
          const m = client.received[seen]!;
          if (m.topic.endsWith('/clientadded')) unique.add(String(m.payload.message_id));
        }
        return unique.size >= expected;
      };
      await client.waitUntil(dedupe, 90_000).catch(() => {});
      expect(unique.size, `${recipient} received every message`).toBe(expected);
      for (const id of unique) expect(sent.get(id)).toBe(recipient);
    }

    const { rows } = await stack.sql.query(
      `SELECT count(*)::int AS n, count(DISTINCT message_id)::int AS ids FROM messages WHERE app_id = $1`,
      [stack.app],
    );
    expect(rows[0]).toEqual({ n: sent.size, ids: sent.size });
    // Sequence numbers are gapless per conversation: every message got exactly one.
    const seqs = await stack.sql.query(
      `SELECT conversation_key, count(*)::int AS n, min(seq)::int AS lo, max(seq)::int AS hi
       FROM messages WHERE app_id = $1 GROUP BY conversation_key ORDER BY conversation_key`,
      [stack.app],
    );
    for (const row of seqs.rows) expect(row).toMatchObject({ lo: 1, hi: row.n });
    expect(seqs.rows.map((r) => r.n)).toEqual([PER_PAIR, PER_PAIR, PER_PAIR]);
  });
});
