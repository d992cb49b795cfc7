import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { recordFaultResult } from './support/fault-results.js';
import type { TestClient } from './support/mqtt-client.js';
import { RouterProcess } from './support/router-process.js';
import { TestStack } from './support/stack.js';

const PAIRS = [
  ['s1', 'r1'],
  ['s2', 'r2'],
] as const;
const PER_PAIR = 600;

/**
 * router-crash.test.ts without message_id, as every Chat21 client sends: the messages the killed
 * router held unacknowledged come back redelivered, and those it had stored are recognised by
 * their content instead of being stored again under new ids.
 */
describe('a router killed with SIGKILL mid-stream, messages without message_id', () => {
  const stack = new TestStack('crashidless');
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

  it(`stores each of ${PAIRS.length * PER_PAIR} once, in order, and delivers each`, {
    timeout: 90_000,
  }, async () => {
    const publishing = PAIRS.map(async ([sender, recipient]) => {
      const client = clients.get(sender)!;
      for (let i = 0; i < PER_PAIR; i++)
        await client.publish(stack.outgoing(sender, recipient), { text: `${sender} ${i}`, type: 'text' });
    });

    // Kill the router once a good part of the stream went through, while the rest is in flight.
    const r1 = clients.get('r1')!;
    await r1.waitForCount((m) => m.topic.endsWith('/clientadded'), 200, 60_000);
    expect(await router.kill('SIGKILL')).toBe(null);
    await Promise.all(publishing);
    const { rows: atKill } = await stack.sql.query<{ n: number }>(
      'SELECT count(*)::int AS n FROM messages WHERE app_id = $1',
      [stack.app],
    );
    expect(atKill[0]!.n).toBeLessThan(PAIRS.length * PER_PAIR);
    router = new RouterProcess(routerEnv);
    await router.start();

    let duplicateCopies = 0;
    for (const [sender, recipient] of PAIRS) {
      const client = clients.get(recipient)!;
      const texts = () => new Set(client.received.map((m) => m.payload.text));
      await client.waitUntil(() => texts().has(`${sender} ${PER_PAIR - 1}`), 60_000).catch(() => {});
      // Stored once each, numbered in the order they were sent, without gaps.
      const { rows } = await stack.sql.query<{ seq: number; text: string }>(
        'SELECT seq::int AS seq, text FROM messages WHERE app_id = $1 AND sender = $2 ORDER BY seq',
        [stack.app, sender],
      );
      const expected = Array.from({ length: PER_PAIR }, (_, i) => [i + 1, `${sender} ${i}`]);
      expect(
        rows.map((r) => [r.seq, r.text]),
        `${sender}: stored once each, in order`,
      ).toEqual(expected);
      // Every message reached the recipient, first seen in seq order (copies sent again after the
      // restart repeat the stored id and seq).
      const firstSeen: number[] = [];
      const seenIds = new Map<unknown, number>();
      for (const m of client.received) {
        if (!m.topic.endsWith('/clientadded')) continue;
        const seq = Number(m.payload.seq);
        const known = seenIds.get(m.payload.message_id);
        if (known !== undefined) {
          expect(known, 'a copy sent again has the stored seq').toBe(seq);
          continue;
        }
        seenIds.set(m.payload.message_id, seq);
        firstSeen.push(seq);
      }
      expect(firstSeen, `${recipient}: every message, first seen in seq order`).toEqual(
        expected.map(([seq]) => seq),
      );
      duplicateCopies +=
        client.received.filter((m) => m.topic.endsWith('/clientadded')).length - seenIds.size;
    }
    await recordFaultResult('router-kill-chat21', {
      fault: 'router SIGKILLed mid-stream, Chat21 clients (no message_id)',
      test: 'router-crash-idless.test.ts',
      messages: PAIRS.length * PER_PAIR,
      lost: 0,
      storedTwice: 0,
      outOfOrder: 0,
      duplicateCopies,
      recovery: 'a new router process takes the queue over; redeliveries found stored by content',
    });
  });
});
