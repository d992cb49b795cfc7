import { randomUUID } from 'node:crypto';
import { setTimeout as sleep } from 'node:timers/promises';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startEngine } from '../src/engine.js';
import { createLogger } from '../src/logger.js';
import { recordFaultResult } from './support/fault-results.js';
import type { TestClient } from './support/mqtt-client.js';
import { RouterProcess } from './support/router-process.js';
import { deleteRouterQueues } from './support/router-queues.js';
import { until } from './support/sdk.js';
import { shardLeases } from './support/shard-leases.js';
import { TestStack } from './support/stack.js';

const DIRECT = [
  ['ann', 'rob'],
  ['ben', 'rob'],
  ['cat', 'sue'],
  ['dan', 'sue'],
  ['eve', 'tom'],
] as const;
const GROUP = 'group-scale';
const POSTERS = ['gia', 'hal', 'ivy'];
/** One message per sender every PACE_MS, until the faults are over (at most MAX_PER_SENDER). */
const PACE_MS = 40;
const MAX_PER_SENDER = 2_000;
/** How long the stream goes on after the kill. */
const AFTER_KILL_MS = 3_000;
/** The test stacks' shard count (support/stack.ts). */
const SHARDS = 4;

interface Sent {
  sender: string;
  conversation: string;
  index: number;
  sentAt: number;
}

/**
 * Several routers on one RabbitMQ (docs/scaling.md): a router added mid-stream takes half the
 * shards, a router killed mid-stream has its shards taken over; through both, nothing is lost or
 * stored twice and every sender's messages are stored and seen in the order sent. (Before the
 * shards, two routers were competing consumers of one queue and an outside run found 2,150 of
 * 10,000 messages stored out of their sender's order.)
 */
describe('several routers: 1 → 4, one removed, one killed, mid-stream', () => {
  const stack = new TestStack('scale');
  const routerEnv = {
    ...stack.routerEnv,
    MERCURIO_LOG_LEVEL: 'info',
    MERCURIO_RATE_MESSAGES: '1000000',
    MERCURIO_PREFETCH: '32',
  };
  const routers: RouterProcess[] = [];
  let streamDone = false;
  const clients = new Map<string, TestClient>();
  /** message_id → when a recipient first saw it. */
  const firstSeen = new Map<string, number>();

  beforeAll(async () => {
    // The group, as the HTTP API would store it (an engine with no router and no HTTP API).
    const admin = await startEngine(stack.config, createLogger('silent'), { router: false, http: false });
    const now = Date.now();
    await admin.store.createGroupIfAbsent({
      app: stack.app,
      uid: GROUP,
      name: GROUP,
      owner: 'gia',
      members: POSTERS,
      attributes: null,
      volatile: false,
      createdOn: now,
      updatedOn: now,
    });
    await admin.stop();
    const users = new Set([...DIRECT.flat(), ...POSTERS]);
    for (const user of users) {
      const client = await stack.client(user, { transport: 'tcp' });
      client.mqtt.on('message', (_topic, raw) => {
        const id = (JSON.parse(raw.toString()) as { message_id?: string }).message_id;
        if (id && !firstSeen.has(id)) firstSeen.set(id, Date.now());
      });
      clients.set(user, client);
    }
  });
  afterAll(async () => {
    streamDone = true;
    await Promise.all(routers.map((router) => router.kill('SIGTERM')));
    await stack.close();
    await deleteRouterQueues(stack.config).catch(() => {});
  });

  const leases = () => shardLeases(stack);

  /** How many routers hold the shards, once every shard is held (else 0). */
  async function routersHolding(): Promise<number> {
    const held = await leases();
    return held.size === SHARDS ? new Set(held.values()).size : 0;
  }

  async function startRouter(): Promise<RouterProcess> {
    const router = new RouterProcess(routerEnv);
    routers.push(router);
    await router.start('consuming shards');
    return router;
  }

  it('loses nothing, stores nothing twice, keeps each sender in order, and takes a killed router’s shards over within 5 s', {
    timeout: 150_000,
  }, async () => {
    const first = await startRouter();
    const sent = new Map<string, Sent>();
    const sends: [sender: string, conversation: string, topic: string][] = [
      ...DIRECT.map(([s, r]) => [s, r, stack.outgoing(s, r)] as [string, string, string]),
      ...POSTERS.map((p) => [p, GROUP, stack.outgoing(p, GROUP)] as [string, string, string]),
    ];
    const streaming = Promise.all(
      sends.map(async ([sender, conversation, topic]) => {
        const client = clients.get(sender)!;
        for (let index = 0; !streamDone && index < MAX_PER_SENDER; index++) {
          const id = randomUUID();
          sent.set(id, { sender, conversation, index, sentAt: Date.now() });
          const payload = {
            text: `${sender} ${index}`,
            message_id: id,
            channel_type: conversation === GROUP ? 'group' : 'direct',
          };
          await Promise.all([client.publish(topic, payload), sleep(PACE_MS)]);
        }
      }),
    );
    // A failure below ends the test while the stream runs: its end is not a second failure.
    streaming.catch(() => {});

    // Three more routers join mid-stream: four, one shard each.
    const joined = await Promise.all([startRouter(), startRouter(), startRouter()]);
    await until(async () => (await routersHolding()) === 4, 'four routers with a shard each', 20_000);
    // One is removed (SIGTERM: it hands its shard over), then the first is killed mid-stream.
    await joined[2]!.kill('SIGTERM');
    await until(async () => (await routersHolding()) === 3, 'three routers with every shard', 10_000);
    const firstId = routerIdOf(first);
    const firstShards = [...(await leases())]
      .filter(([, owner]) => owner === firstId)
      .map(([shard]) => shard);
    expect(firstShards.length).toBeGreaterThan(0);
    const killedAt = Date.now();
    expect(await first.kill('SIGKILL')).toBe(null);
    await until(
      async () => {
        const now = await leases();
        return firstShards.every((shard) => now.has(shard) && now.get(shard) !== firstId);
      },
      'its shards taken over',
      15_000,
    );
    const takeover = Date.now() - killedAt;
    await sleep(AFTER_KILL_MS);
    streamDone = true;
    await streaming;

    const total = sent.size;
    await until(
      () => [...sent.keys()].every((id) => firstSeen.has(id)),
      'every message to be seen by its recipients',
      60_000,
    );

    // Nothing stored twice, nothing lost, every conversation gapless.
    const { rows } = await stack.sql.query(
      'SELECT count(*)::int AS n, count(DISTINCT message_id)::int AS ids FROM messages WHERE app_id = $1',
      [stack.app],
    );
    expect(rows[0]).toEqual({ n: total, ids: total });
    const stored = await stack.sql.query(
      'SELECT message_id, sender, conversation_key, seq FROM messages WHERE app_id = $1 ORDER BY conversation_key, seq',
      [stack.app],
    );
    const bySenderInStore = new Map<string, number[]>();
    const seqsByConversation = new Map<string, number[]>();
    for (const row of stored.rows as {
      message_id: string;
      sender: string;
      conversation_key: string;
      seq: number;
    }[]) {
      const key = `${row.sender}→${row.conversation_key}`;
      bySenderInStore.set(key, [...(bySenderInStore.get(key) ?? []), sent.get(row.message_id)!.index]);
      seqsByConversation.set(row.conversation_key, [
        ...(seqsByConversation.get(row.conversation_key) ?? []),
        row.seq,
      ]);
    }
    for (const seqs of seqsByConversation.values()) expect(seqs).toEqual(seqs.map((_, i) => i + 1));
    // Each sender's messages are numbered in the order sent…
    for (const [key, indexes] of bySenderInStore) expect(indexes, key).toEqual(indexes.map((_, i) => i));
    // …and first seen by their recipients in that order.
    const bySenderSeen = new Map<string, { index: number; at: number }[]>();
    for (const [id, message] of sent) {
      const key = `${message.sender}→${message.conversation}`;
      bySenderSeen.set(key, [
        ...(bySenderSeen.get(key) ?? []),
        { index: message.index, at: firstSeen.get(id)! },
      ]);
    }
    for (const [key, seen] of bySenderSeen) {
      const inSeenOrder = [...seen].sort((a, b) => a.at - b.at || a.index - b.index).map((s) => s.index);
      expect(inSeenOrder, key).toEqual(inSeenOrder.map((_, i) => i));
    }
    // What was sent after the kill waited for the takeover and the backlog behind it.
    const afterKill = [...sent].filter(([, m]) => m.sentAt >= killedAt);
    const longestWait = Math.max(...afterKill.map(([id, m]) => firstSeen.get(id)! - m.sentAt));
    console.log(
      `router-scaling: ${total} messages; shards taken over ${takeover} ms after the kill; longest wait of a message sent after it ${longestWait} ms`,
    );
    await recordFaultResult('router-churn-1-to-4', {
      fault: 'routers 1 → 4 mid-stream, one removed (SIGTERM), one SIGKILLed',
      test: 'router-scaling.test.ts',
      messages: total,
      lost: 0,
      storedTwice: 0,
      outOfOrder: 0,
      recovery: `shards taken over ${(takeover / 1000).toFixed(1)} s after the kill; longest wait of a message sent after it ${(longestWait / 1000).toFixed(1)} s`,
    });
    expect(takeover).toBeLessThan(5_000);
  });
});

/** The router id a router process logs with its shards. */
function routerIdOf(router: RouterProcess): string {
  const line = router.output.split('\n').find((l) => l.includes('consuming shards'));
  return (JSON.parse(line ?? '{}') as { router?: string }).router ?? '';
}
