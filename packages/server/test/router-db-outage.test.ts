import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { TestClient } from './support/mqtt-client.js';
import { services } from './support/services.js';
import { TestStack } from './support/stack.js';
import { TcpProxy } from './support/tcp-proxy.js';

describe('PostgreSQL unreachable for a few seconds in the middle of a stream', () => {
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

  it('loses nothing, duplicates nothing and keeps the conversation in order', {
    timeout: 60_000,
  }, async () => {
    const count = 300;
    const texts = Array.from({ length: count }, (_, i) => `m${i}`);
    const sending = (async () => {
      for (const text of texts) await sender.publish(stack.outgoing('sender', 'recipient'), { text });
    })();
    await recipient.waitForCount((m) => m.topic.endsWith('/clientadded'), 50);
    proxy.cut();
    await new Promise((resolve) => setTimeout(resolve, 3000));
    const duringOutage = recipient.received.length;
    proxy.restore();
    await sending;
    const got = await recipient.waitForCount((m) => m.topic.endsWith('/clientadded'), count, 40_000);

    // The outage really stopped the stream: most of it was still waiting.
    expect(duringOutage).toBeLessThan(count / 2);
    expect(got.map((m) => m.payload.text)).toEqual(texts);
    expect(got.map((m) => m.payload.seq)).toEqual(texts.map((_, i) => i + 1));
    const { rows } = await stack.sql.query(
      'SELECT count(*)::int AS n, count(DISTINCT seq)::int AS seqs FROM messages WHERE app_id = $1',
      [stack.app],
    );
    expect(rows[0]).toEqual({ n: count, seqs: count });
  });
});
