import type { FastifyInstance } from 'fastify';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createLogger } from '../src/logger.js';
import { createPgDatabase } from '../src/store/pg-database.js';
import { withReplicaReads } from '../src/store/replica-reads.js';
import type { SqlDatabase } from '../src/store/sql.js';
import { callApi } from './support/http-call.js';
import type { Received, TestClient } from './support/mqtt-client.js';
import { PgReplicaPair } from './support/pg-replica.js';
import { TestStack } from './support/stack.js';
import { TcpProxy } from './support/tcp-proxy.js';

/**
 * PostgreSQL beyond one server (issue 13), on a private primary + synchronous streaming replica
 * (scripts/pg-replica.sh, ports 39432/39433) and the shared test RabbitMQ: the HTTP API's reads
 * on the replica with read-your-writes, then the router through a primary switchover. The files'
 * two parts run in order: the switchover ends the pair's primary.
 */
let pair: PgReplicaPair;
beforeAll(async () => {
  pair = await PgReplicaPair.start();
}, 60_000);
afterAll(async () => {
  await pair?.stop();
});

const added = (stack: TestStack, user: string, cw: string) => (m: Received) =>
  m.topic === stack.topic('users', user, 'messages', cw, 'clientadded');

/** Waits until `condition` holds, polling (a replica's replay has no event to wait on). */
async function until(condition: () => Promise<boolean>, timeoutMs = 10_000): Promise<void> {
  const end = Date.now() + timeoutMs;
  while (!(await condition())) {
    if (Date.now() > end) throw new Error(`condition not met within ${timeoutMs} ms`);
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
}

describe('HTTP API reads on a streaming replica (MERCURIO_DATABASE_READ_URL)', () => {
  let stack: TestStack;
  let api: FastifyInstance;
  let alice: TestClient;
  let bob: TestClient;
  const tokens: Record<string, string> = {};
  const get = async (user: string, path: string) => {
    const res = await callApi(api, tokens[user]!, 'GET', `/api/v1/apps/${stack.app}/users/${user}${path}`);
    expect(res.statusCode).toBe(200);
    return res.json();
  };
  const seqs = (page: { result: { seq: number }[] }) => page.result.map((m) => m.seq);
  const replicaHead = async () =>
    (
      await pair.sql('replica', 'SELECT max(last_seq) AS head FROM conversation_heads WHERE app_id = $1', [
        stack.app,
      ])
    )[0]?.head ?? 0;
  /** Reads counted by the server that answered them (mercurio_db_reads_total). */
  const readsBy = async (server: 'replica' | 'primary') => {
    const text = (await callApi(api, tokens.alice!, 'GET', '/metrics')).body;
    const line = text.split('\n').find((l) => l.startsWith(`mercurio_db_reads_total{server="${server}"}`));
    return line ? Number(line.split(' ')[1]) : 0;
  };
  const send = async (from: TestClient, sender: string, recipient: string, text: string) => {
    await from.publish(stack.outgoing(sender, recipient), { text });
    return (await bob.waitFor((m) => m.topic.endsWith('/clientadded') && m.payload.text === text)).payload
      .seq as number;
  };

  beforeAll(async () => {
    stack = new TestStack('replica-read', {
      MERCURIO_DATABASE_URL: pair.url('primary'),
      MERCURIO_DATABASE_READ_URL: pair.url('replica'),
      // Far above this test's pause: what sends a read to the primary here is the position it names.
      MERCURIO_DATABASE_READ_MAX_LAG_MS: '600000',
      MERCURIO_HTTP_PORT: '0',
    });
    await stack.startRouter({ http: true });
    api = stack.router!.http!;
    for (const user of ['alice', 'bob']) tokens[user] = await stack.token(user);
    [alice, bob] = await Promise.all([stack.client('alice'), stack.client('bob')]);
  });
  afterAll(async () => {
    await pair.sql('replica', 'SELECT pg_wal_replay_resume()').catch(() => {});
    await stack?.close();
  });

  it('serves lists and pages from the replica, and a page naming a seq the replica lacks from the primary', {
    timeout: 30_000,
  }, async () => {
    for (const text of ['one', 'two', 'three']) await send(alice, 'alice', 'bob', text);
    await until(async () => (await replicaHead()) >= 3);

    // Replay paused: the primary goes on, the replica stays at seq 3.
    await pair.sql('replica', 'SELECT pg_wal_replay_pause()');
    await until(
      async () =>
        (await pair.sql('replica', 'SELECT pg_get_wal_replay_pause_state() AS s'))[0].s === 'paused',
    );
    const aliceSeq = await send(alice, 'alice', 'bob', 'four (alice, just sent)');
    const bobSeq = await send(bob, 'bob', 'alice', 'five (bob, the reply)');
    expect([aliceSeq, bobSeq]).toEqual([4, 5]);
    expect(await replicaHead()).toBe(3);
    const replicaBefore = await readsBy('replica');
    const primaryBefore = await readsBy('primary');

    // No position named: the replica answers, and shows its (older) state — proof of who answered.
    const list = await get('alice', '/conversations');
    expect(list.result[0]).toMatchObject({ conversWith: 'bob', last_message_text: 'three' });
    expect(seqs(await get('alice', '/conversations/bob/messages'))).toEqual([1, 2, 3]);
    const search = await get('alice', '/search?q=five');
    expect(search.result).toEqual([]);
    expect(await readsBy('replica')).toBe(replicaBefore + 3);

    // Read-your-writes: alice knows her own seq 4 and asks what came after it; the replica's head
    // (3) is behind 4, so the primary answers, with bob's reply.
    const after = await get('alice', `/conversations/bob/messages?after=${aliceSeq}`);
    expect(after.result).toMatchObject([{ seq: 5, text: 'five (bob, the reply)' }]);
    // A gap fill holding seq 5 live and asking from 3 names 5 as seen (min_seq).
    expect(seqs(await get('alice', '/conversations/bob/messages?after=3&min_seq=5'))).toEqual([4, 5]);
    // Paging back from a seq the client holds (before=5): the replica lacks 4, the primary answers.
    expect(seqs(await get('alice', '/conversations/bob/messages?before=5'))).toEqual([1, 2, 3, 4]);
    expect(await readsBy('primary')).toBe(primaryBefore + 3);
    // A position the replica holds stays there.
    expect(seqs(await get('alice', '/conversations/bob/messages?after=1&min_seq=3'))).toEqual([2, 3]);
    expect(await readsBy('replica')).toBe(replicaBefore + 4);

    // Replay resumed: the replica catches up and answers everything again.
    await pair.sql('replica', 'SELECT pg_wal_replay_resume()');
    await until(async () => (await replicaHead()) >= 5);
    expect(seqs(await get('alice', `/conversations/bob/messages?after=${aliceSeq}`))).toEqual([5]);
    expect(await readsBy('replica')).toBe(replicaBefore + 5);
    expect(await readsBy('primary')).toBe(primaryBefore + 3);
  });

  it('reads from the primary while the replica lags more than the bound, or does not answer', {
    timeout: 30_000,
  }, async () => {
    // Independent of the test before (its replay resumed, or left paused when it failed).
    await pair.sql('replica', 'SELECT pg_wal_replay_resume()');
    await until(async () => (await replicaHead()) >= 5);
    const log = createLogger('silent');
    const primaryStore = stack.router!.store;
    const replicaDb = createPgDatabase(pair.url('replica'), 2);
    const unreachable = createPgDatabase('postgres://postgres@127.0.0.1:1/mercurio', 1, {
      connectTimeoutMs: 500,
      statementTimeoutMs: 1000,
      queryTimeoutMs: 3000,
      idleInTransactionTimeoutMs: 1000,
      keepAliveMs: 1000,
    });
    const dbs: SqlDatabase[] = [replicaDb, unreachable];
    try {
      const served: string[] = [];
      const bounded = withReplicaReads(
        primaryStore,
        replicaDb,
        // The router's shard heartbeats commit every 500 ms: a replica replaying is well within.
        { url: '', maxLagMs: 1500, retryMs: 5000 },
        log,
        (s) => served.push(s),
      );
      const page = { archived: false, limit: 10 };
      const lastText = async () =>
        (await bounded.listConversations(stack.app, 'alice', page))[0]?.lastMessage;
      expect(await lastText()).toMatchObject({ text: 'five (bob, the reply)' });
      expect(served).toEqual(['replica']);

      await pair.sql('replica', 'SELECT pg_wal_replay_pause()');
      await until(
        async () =>
          (await pair.sql('replica', 'SELECT pg_get_wal_replay_pause_state() AS s'))[0].s === 'paused',
      );
      await send(alice, 'alice', 'bob', 'six');
      // Its last replayed transaction is now older than the bound: the primary answers (fresh).
      await until(
        async () =>
          (
            await pair.sql(
              'replica',
              'SELECT extract(epoch FROM clock_timestamp() - pg_last_xact_replay_timestamp()) * 1000 > 1600 AS late',
            )
          )[0].late,
      );
      expect(await lastText()).toMatchObject({ text: 'six' });
      expect(served.slice(-1)).toEqual(['primary']);
      await pair.sql('replica', 'SELECT pg_wal_replay_resume()');

      // A replica that does not answer: the primary does, and the replica is left alone a while.
      served.length = 0;
      const down = withReplicaReads(
        primaryStore,
        unreachable,
        { url: '', maxLagMs: 300, retryMs: 60_000 },
        log,
        (s) => served.push(s),
      );
      expect((await down.listConversations(stack.app, 'alice', page))[0]?.lastMessage).toMatchObject({
        text: 'six',
      });
      const started = Date.now();
      await down.searchMessages(stack.app, 'alice', { text: 'six', limit: 5 });
      expect(Date.now() - started).toBeLessThan(400); // not another connect attempt
      expect(served).toEqual(['primary', 'primary']);
    } finally {
      await Promise.all(dbs.map((db) => db.close()));
    }
  });
});

describe('the router through a primary switchover (stop, promote the replica, repoint the address)', () => {
  let proxy: TcpProxy;
  let stack: TestStack;
  let sender: TestClient;
  let recipient: TestClient;

  beforeAll(async () => {
    // The router reaches PostgreSQL through a relay standing in for a virtual IP / pgbouncer.
    proxy = await TcpProxy.start('127.0.0.1', pair.primaryPort);
    stack = new TestStack('switchover', {
      MERCURIO_DATABASE_URL: `postgres://postgres@127.0.0.1:${proxy.port}/mercurio`,
      MERCURIO_DATABASE_CONNECT_TIMEOUT_MS: '1000',
      MERCURIO_RETRY_DELAY_MS: '200',
      MERCURIO_RATE_MESSAGES: '1000',
    });
    await stack.startRouter();
    [sender, recipient] = await Promise.all([stack.client('sender'), stack.client('recipient')]);
  });
  afterAll(async () => {
    await stack?.close();
    await proxy?.close();
  });

  it('resumes by itself: none lost, none stored twice, seq gapless and in send order', {
    timeout: 60_000,
  }, async () => {
    const count = 400;
    const texts = Array.from({ length: count }, (_, i) => `m${i}`);
    const isCopy = added(stack, 'recipient', 'sender');
    const acknowledged: string[] = [];
    const sending = (async () => {
      for (const text of texts) {
        await sender.publish(stack.outgoing('sender', 'recipient'), { text });
        acknowledged.push(text); // PUBACK: the broker has it
      }
    })();
    // Awaited below; if an assertion fails first, the stack's close must not leave it unhandled.
    sending.catch(() => {});
    await recipient.waitForCount(isCopy, 60, 20_000);

    const stoppedAt = performance.now();
    await pair.stopPrimary('immediate');
    // Sent only after the stop: stored on the promoted replica, so its delivery means resumed.
    const firstAfterStop = texts[acknowledged.length + 1]!;
    const deliveredBefore = recipient.received.filter(isCopy).length;
    let paused = false;
    const gauge = stack.router!.metrics.routerPaused;
    const sampler = setInterval(async () => {
      if ((await gauge.get()).values[0]?.value === 1) paused = true;
    }, 10);
    // The address moves first (as a virtual IP can): until the promotion ends the router may meet
    // a standby that refuses writes (SQLSTATE 25006: class 25, which the retry policy takes for an
    // infrastructure failure: retried, never dead-lettered).
    proxy.retarget('127.0.0.1', pair.replicaPort);
    proxy.reset();
    await pair.promote();
    const promotedMs = performance.now() - stoppedAt;
    await recipient.waitFor((m) => isCopy(m) && m.payload.text === firstAfterStop, 30_000);
    const resumedMs = performance.now() - stoppedAt;
    clearInterval(sampler);

    await sending;
    const copies = await recipient.waitForCount(isCopy, count, 40_000);
    const firstSeen: string[] = [];
    for (const copy of copies)
      if (!firstSeen.includes(copy.payload.text as string)) firstSeen.push(copy.payload.text as string);
    expect(acknowledged).toEqual(texts);
    expect(firstSeen).toEqual(texts);

    const rows = await pair.sql<{ text: string; seq: number }>(
      'replica',
      `SELECT text, seq FROM messages WHERE app_id = $1 ORDER BY seq`,
      [stack.app],
    );
    expect(rows.map((r) => r.text)).toEqual(texts);
    expect(rows.map((r) => r.seq)).toEqual(texts.map((_, i) => i + 1));
    console.log(
      `[switchover] ${count} messages, ${deliveredBefore} delivered before the primary stopped; ` +
        `replica promoted ${promotedMs.toFixed(0)} ms after the stop; the first message sent after the stop ` +
        `delivered at ${resumedMs.toFixed(0)} ms (router paused: ${paused}); copies delivered ${copies.length} (${copies.length - count} repeated)`,
    );
  });
});
