import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { recordFaultResult } from './support/fault-results.js';
import type { TestClient } from './support/mqtt-client.js';
import { services } from './support/services.js';
import { TestStack } from './support/stack.js';
import { TcpProxy } from './support/tcp-proxy.js';

/** How long PostgreSQL is unreachable (issue 13: "PostgreSQL stopped for 30 s mid-stream"). */
const OUTAGE_MS = 30_000;

describe('PostgreSQL unreachable for 30 s in the middle of a stream', () => {
  let proxy: TcpProxy;
  let stack: TestStack;
  let sender: TestClient;
  let recipient: TestClient;

  beforeAll(async () => {
    const pg = new URL(services().pgUrl);
    proxy = await TcpProxy.start(pg.hostname, Number(pg.port));
    pg.port = String(proxy.port);
    stack = new TestStack('dbdown', {
      MERCURIO_DATABASE_URL: pg.toString(),
      MERCURIO_RETRY_DELAY_MS: '200',
      // Exactly the messages sent: a message retried during the outage counts once, not per attempt.
      MERCURIO_RATE_MESSAGES: '300',
    });
    await stack.startRouter();
    [sender, recipient] = await Promise.all([stack.client('sender'), stack.client('recipient')]);
  });
  afterAll(async () => {
    await stack.close();
    await proxy.close();
  });

  it('pauses the router, resumes it, loses nothing, duplicates nothing and keeps the conversation in order', {
    timeout: 120_000,
  }, async () => {
    const count = 300;
    const texts = Array.from({ length: count }, (_, i) => `m${i}`);
    const sending = (async () => {
      for (const text of texts) await sender.publish(stack.outgoing('sender', 'recipient'), { text });
    })();
    await recipient.waitForCount((m) => m.topic.endsWith('/clientadded'), 50);
    // Every connection dropped and new ones refused: to the router, a stopped server.
    proxy.cut();
    const paused = async () =>
      (await stack.router!.metrics.registry.getSingleMetric('mercurio_router_paused')?.get())?.values[0]
        ?.value === 1;
    let pausedSeen = false;
    const outageEnds = Date.now() + OUTAGE_MS;
    while (Date.now() < outageEnds) {
      pausedSeen ||= await paused();
      await new Promise((resolve) => setTimeout(resolve, 250));
    }
    const duringOutage = recipient.received.length;
    const restoredAt = Date.now();
    proxy.restore();
    await sending;
    // Each message once, as a client keeps it (by message_id): a message held when the router
    // paused comes again, with the same id and seq.
    const firsts = () => {
      const seen = new Map<unknown, (typeof recipient.received)[number]>();
      for (const m of recipient.received)
        if (m.topic.endsWith('/clientadded') && !seen.has(m.payload.message_id))
          seen.set(m.payload.message_id, m);
      return [...seen.values()];
    };
    await recipient.waitUntil(() => firsts().length >= count, 60_000);
    const got = firsts();
    const copies = recipient.received.filter((m) => m.topic.endsWith('/clientadded')).length;
    const recoveredAfter = Date.now() - restoredAt;
    expect(pausedSeen, 'the router paused while PostgreSQL was away').toBe(true);
    expect(await paused(), 'and resumed').toBe(false);

    // The outage really stopped the stream: most of it was still waiting.
    expect(duringOutage).toBeLessThan(count / 2);
    expect(got.map((m) => m.payload.text)).toEqual(texts);
    expect(got.map((m) => m.payload.seq)).toEqual(texts.map((_, i) => i + 1));
    const { rows } = await stack.sql.query(
      'SELECT count(*)::int AS n, count(DISTINCT seq)::int AS seqs FROM messages WHERE app_id = $1',
      [stack.app],
    );
    expect(rows[0]).toEqual({ n: count, seqs: count });
    await recordFaultResult('postgres-down-30s', {
      fault: 'PostgreSQL unreachable for 30 s mid-stream (connections cut and refused)',
      test: 'router-db-outage.test.ts',
      messages: count,
      lost: count - new Set(got.map((m) => m.payload.text)).size,
      storedTwice: rows[0].n - rows[0].seqs,
      outOfOrder: got.filter((m, i) => i > 0 && Number(m.payload.seq) < Number(got[i - 1]!.payload.seq))
        .length,
      duplicateCopies: copies - got.length,
      recovery: `router paused during the outage; every message delivered ${(recoveredAfter / 1000).toFixed(1)} s after PostgreSQL was back`,
    });
  });
});
