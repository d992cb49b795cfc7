import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { recordFaultResult } from './support/fault-results.js';
import type { TestClient } from './support/mqtt-client.js';
import { RouterProcess } from './support/router-process.js';
import { deleteRouterQueues } from './support/router-queues.js';
import { until } from './support/sdk.js';
import { shardLeases } from './support/shard-leases.js';
import { TestStack } from './support/stack.js';

const CONVERSATIONS = 20;
const PER_CONVERSATION = 500;
/** The share of the burst seen by recipients when one router is killed. */
const KILL_AT = 0.3;

/**
 * Three routers, 20 conversations × 500 messages sent as fast as the clients can, one router
 * SIGKILLed mid-burst (issue 13's first fault): nothing lost, nothing stored twice, every
 * sender's messages stored and first seen in the order sent, and the dead router's shards taken
 * over within 5 s.
 */
describe('three routers, a burst, one router killed', () => {
  const stack = new TestStack('burst');
  const routerEnv = { ...stack.routerEnv, MERCURIO_LOG_LEVEL: 'info', MERCURIO_RATE_MESSAGES: '1000000' };
  const routers: RouterProcess[] = [];
  const senders: TestClient[] = [];
  const recipients: TestClient[] = [];
  /** message_id → the order in which recipients first saw it (one counter for all). */
  const firstSeen = new Map<string, number>();
  let copies = 0;

  beforeAll(async () => {
    for (let i = 0; i < CONVERSATIONS; i++) {
      senders.push(await stack.client(`s${i}`, { transport: 'tcp', subscribe: false }));
      const recipient = await stack.client(`r${i}`, { transport: 'tcp' });
      recipient.mqtt.on('message', (_topic, raw) => {
        const id = (JSON.parse(raw.toString()) as { message_id?: string }).message_id;
        if (!id) return;
        copies++;
        if (!firstSeen.has(id)) firstSeen.set(id, firstSeen.size);
      });
      recipients.push(recipient);
    }
    for (let i = 0; i < 3; i++) routers.push(new RouterProcess(routerEnv));
    await Promise.all(routers.map((router) => router.start('consuming shards')));
    await until(
      async () => new Set((await leases()).values()).size === 3,
      'three routers holding shards',
      20_000,
    );
  });
  afterAll(async () => {
    await Promise.all(routers.map((router) => router.kill('SIGTERM')));
    await stack.close();
    await deleteRouterQueues(stack.config).catch(() => {});
  });

  const leases = () => shardLeases(stack);

  it(`${CONVERSATIONS} × ${PER_CONVERSATION} messages: none lost, none stored twice, each sender in order`, {
    timeout: 240_000,
  }, async () => {
    const order = new Map<string, { sender: number; index: number }>();
    const burst = senders.map(async (client, sender) => {
      const topic = stack.outgoing(`s${sender}`, `r${sender}`);
      // QoS 1, all at once: the client keeps them in order on its connection.
      await Promise.all(
        Array.from({ length: PER_CONVERSATION }, (_, index) => {
          const id = randomUUID();
          order.set(id, { sender, index });
          return client.publish(topic, { text: `m${index}`, message_id: id });
        }),
      );
    });
    const total = CONVERSATIONS * PER_CONVERSATION;
    await until(() => firstSeen.size >= total * KILL_AT, 'part of the burst delivered', 120_000);
    const victim = routers[0]!;
    const victimId = (
      JSON.parse(victim.output.split('\n').find((l) => l.includes('consuming shards'))!) as {
        router: string;
      }
    ).router;
    const victimShards = [...(await leases())]
      .filter(([, owner]) => owner === victimId)
      .map(([shard]) => shard);
    const killedAt = Date.now();
    expect(await victim.kill('SIGKILL')).toBe(null);
    await until(
      async () => {
        const now = await leases();
        return victimShards.every((shard) => now.has(shard) && now.get(shard) !== victimId);
      },
      'the killed router’s shards taken over',
      15_000,
    );
    const takeover = Date.now() - killedAt;
    await Promise.all(burst);
    await until(() => firstSeen.size >= total, 'every message seen by its recipient', 180_000);

    const { rows } = await stack.sql.query(
      `SELECT message_id, sender, seq FROM messages WHERE app_id = $1 ORDER BY sender, seq`,
      [stack.app],
    );
    const stored = rows as { message_id: string; sender: string; seq: number }[];
    const storedTwice = stored.length - new Set(stored.map((row) => row.message_id)).size;
    const lost = [...order.keys()].filter((id) => !firstSeen.has(id)).length;
    // Per sender: stored in send order (seq rises with the send index) and first seen in it.
    let outOfOrder = 0;
    for (let sender = 0; sender < CONVERSATIONS; sender++) {
      const inStore = stored
        .filter((row) => row.sender === `s${sender}`)
        .map((row) => order.get(row.message_id)!.index);
      outOfOrder += inStore.filter((index, i) => i > 0 && index < inStore[i - 1]!).length;
      const seen = [...order]
        .filter(([, o]) => o.sender === sender)
        .sort(([a], [b]) => firstSeen.get(a)! - firstSeen.get(b)!)
        .map(([, o]) => o.index);
      outOfOrder += seen.filter((index, i) => i > 0 && index < seen[i - 1]!).length;
    }
    await recordFaultResult('router-kill-3-routers', {
      fault: `router SIGKILLed mid-burst (3 routers, ${CONVERSATIONS} conversations × ${PER_CONVERSATION} sent at once)`,
      test: 'router-scaling-burst.test.ts',
      messages: total,
      lost,
      storedTwice,
      outOfOrder,
      duplicateCopies: copies - firstSeen.size,
      recovery: `shards taken over ${(takeover / 1000).toFixed(1)} s after the kill`,
    });
    expect({ lost, storedTwice, stored: stored.length, outOfOrder }).toEqual({
      lost: 0,
      storedTwice: 0,
      stored: total,
      outOfOrder: 0,
    });
    expect(takeover).toBeLessThan(5_000);
  });
});
