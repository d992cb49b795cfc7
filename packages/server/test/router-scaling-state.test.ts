import { setTimeout as sleep } from 'node:timers/promises';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type Engine, startEngine } from '../src/engine.js';
import { createLogger } from '../src/logger.js';
import type { Received, TestClient } from './support/mqtt-client.js';
import { deleteRouterQueues } from './support/router-queues.js';
import { TestStack } from './support/stack.js';

/** Messages a user may send per window in this test. */
const LIMIT = 12;

/**
 * What two routers share only through the database (docs/scaling.md): a user's presence and
 * their abuse limits. Two engines in this process share nothing else but the broker, as two
 * machines would; each consumes half the shards, so one user's clients (presence is sharded by
 * client) and one user's messages to several peers (sharded by conversation) meet both routers.
 */
describe('presence and limits across two routers', () => {
  const stack = new TestStack('scale-state', { MERCURIO_RATE_MESSAGES: String(LIMIT) });
  const engines: Engine[] = [];
  let pia: TestClient;

  const presenceOf = (user: string) => (m: Received) =>
    m.topic === stack.topic('users', 'pia', 'presence', user, 'clientupdated');

  beforeAll(async () => {
    for (let i = 0; i < 2; i++) {
      engines.push(await startEngine(stack.config, createLogger('silent'), { router: true, http: false }));
    }
    const split = () => engines.map((engine) => engine.shards?.held.length);
    for (let i = 0; JSON.stringify(split()) !== '[2,2]'; i++) {
      if (i > 200) throw new Error(`the routers did not split the shards: ${JSON.stringify(split())}`);
      await sleep(50);
    }
    pia = await stack.client('pia');
  });
  afterAll(async () => {
    await stack.close();
    for (const engine of engines) await engine.stop();
    await deleteRouterQueues(stack.config).catch(() => {});
  });

  it('a user connected through several clients handled by both routers is online once, then offline once', async () => {
    // A conversation makes pia rob's peer.
    await pia.publish(stack.outgoing('pia', 'rob'), { text: 'hi' });
    await pia.waitFor((m) => m.payload.text === 'hi');
    const clientIds = ['rob-a', 'rob-b', 'rob-c', 'rob-d', 'rob-e', 'rob-f'];
    const clients = await Promise.all(
      clientIds.map(async (clientId) => {
        const topic = stack.topic('users', 'rob', 'presence', clientId);
        const client = await stack.client('rob', {
          clientId,
          subscribe: false,
          will: { topic, payload: Buffer.from('{"disconnected":true}'), qos: 1, retain: false },
        });
        await client.publish(topic, { connected: true });
        return client;
      }),
    );
    await pia.waitFor(presenceOf('rob'));
    await Promise.all(clients.map((client) => client.mqtt.stream.destroy()));
    await pia.waitFor((m) => presenceOf('rob')(m) && m.payload.status === 'offline');
    // Late events would show here too.
    await sleep(500);
    expect(pia.received.filter(presenceOf('rob')).map((m) => m.payload.status)).toEqual([
      'online',
      'offline',
    ]);
  });

  it('a sender’s limit counts across both routers', async () => {
    const sam = await stack.client('sam');
    const peers = Array.from({ length: 2 * LIMIT }, (_, i) => `peer-${i}`);
    for (const peer of peers) await sam.publish(stack.outgoing('sam', peer), { text: `to ${peer}` });
    const refused = (m: Received) =>
      m.topic === stack.topic('users', 'sam', 'errors', 'clientadded') && m.payload.code === 'rate_limited';
    const refusals = await sam.waitForCount(refused, LIMIT, 20_000);
    expect(refusals).toHaveLength(LIMIT);
    const { rows } = await stack.sql.query(
      `SELECT count(*)::int AS n FROM messages WHERE app_id = $1 AND sender = 'sam'`,
      [stack.app],
    );
    expect(rows[0].n).toBe(LIMIT);
  });
});
