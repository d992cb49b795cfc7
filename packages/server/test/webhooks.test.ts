import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { verifySignature } from '../src/webhooks/signature.js';
import type { TestClient } from './support/mqtt-client.js';
import { TestStack } from './support/stack.js';
import { WebhookReceiver } from './support/webhook-receiver.js';

const SECRET = 'webhook-secret-webhook-secret-webhook-secret';

function webhookEnv(url: string, extra: Record<string, string> = {}) {
  return {
    MERCURIO_WEBHOOKS: JSON.stringify([{ url }]),
    MERCURIO_WEBHOOK_SECRET: SECRET,
    MERCURIO_WEBHOOK_RETRY_BASE_MS: '50',
    MERCURIO_WEBHOOK_RETRY_MAX_MS: '400',
    MERCURIO_WEBHOOK_TIMEOUT_MS: '300',
    MERCURIO_WEBHOOK_POLL_MS: '50',
    ...extra,
  };
}

describe('webhooks to the host application', () => {
  let receiver: WebhookReceiver;
  let stack: TestStack;
  let alice: TestClient;
  let bob: TestClient;
  let carol: TestClient;
  const PER_CONVERSATION = 20;

  beforeAll(async () => {
    receiver = await WebhookReceiver.start();
    stack = new TestStack('hooks', webhookEnv(receiver.url));
    await stack.startRouter();
    [alice, bob, carol] = (await Promise.all(['alice', 'bob', 'carol'].map((u) => stack.client(u)))) as [
      TestClient,
      TestClient,
      TestClient,
    ];
  });
  afterAll(async () => {
    await stack.close();
    await receiver.close();
  });

  it('every event arrives, signed, in order per conversation, once after dropping repeats by event id', async () => {
    // The endpoint is down for a while, then answers one request too slowly (the worker gives up
    // on it and retries: a duplicate the receiver drops by event id), then works.
    const downUntil = Date.now() + 1500;
    let slowOnce = true;
    receiver.behaviour = () => {
      if (Date.now() < downUntil) return { status: 503 };
      if (slowOnce) {
        slowOnce = false;
        return { status: 200, delayMs: 600 };
      }
      return { status: 200 };
    };

    for (let i = 0; i < PER_CONVERSATION; i++) {
      await alice.publish(stack.outgoing('alice', 'bob'), { text: `a${i}` });
      await carol.publish(stack.outgoing('carol', 'bob'), { text: `c${i}` });
    }
    const last = await bob.waitFor((m) => m.payload.text === `a${PER_CONVERSATION - 1}`);
    await bob.waitFor((m) => m.payload.text === `c${PER_CONVERSATION - 1}`);
    await bob.publish(
      stack.topic('users', 'bob', 'messages', 'alice', String(last.payload.message_id), 'update'),
      {
        status: 200,
      },
    );
    await bob.publish(stack.topic('users', 'bob', 'conversations', 'carol', 'archive'), {});
    await bob.waitFor((m) => m.topic.endsWith('/archived_conversations/carol/clientadded'));
    await carol.publish(stack.outgoing('carol', 'bob'), { text: 'come back' });
    await bob.waitFor((m) => m.topic.endsWith('/archived_conversations/carol/clientdeleted'));

    const expected = PER_CONVERSATION * 2 * 2 + 2 + 1 + 1 + 2;
    const unique = () =>
      new Map(receiver.requests.filter((r) => r.answered === 200).map((r) => [r.body.event_id, r]));
    await expect.poll(() => unique().size, { timeout: 20_000, interval: 100 }).toBe(expected);

    // Failures really happened, and a duplicate was really sent.
    expect(receiver.requests.some((r) => r.answered === 503)).toBe(true);
    const ids = receiver.requests.map((r) => r.body.event_id);
    expect(ids.length).toBeGreaterThan(new Set(ids).size);

    for (const request of receiver.requests) {
      expect(verifySignature(SECRET, request.raw, request.headers['x-mercurio-signature'] as string)).toBe(
        true,
      );
      expect(request.headers['x-mercurio-event']).toBe(request.body.event_type);
      expect(request.headers['x-mercurio-event-id']).toBe(request.body.event_id);
    }
    expect(
      verifySignature(
        'wrong-secret',
        receiver.requests[0]!.raw,
        receiver.requests[0]!.headers['x-mercurio-signature'] as string,
      ),
    ).toBe(false);

    const events = [...unique().values()].map((r) => r.body);
    const count = (type: string) => events.filter((e) => e.event_type === type).length;
    expect(count('message-sent')).toBe(PER_CONVERSATION * 2 + 1);
    expect(count('message-delivered')).toBe(PER_CONVERSATION * 2 + 1);
    expect(count('message-received')).toBe(1);
    expect(count('message-return-receipt')).toBe(1);
    expect(count('conversation-archived')).toBe(1);
    expect(count('conversation-unarchived')).toBe(1);

    // Chat21's payload shape (chat21-protocol.md §8.2).
    const sent = events.find(
      (e) => e.event_type === 'message-sent' && (e.data as { text: string }).text === 'a0',
    )!;
    expect(sent).toMatchObject({
      recipient_id: 'bob',
      app_id: stack.app,
      delivered_to: 'alice',
      data: { text: 'a0', sender: 'alice', recipient: 'bob', status: 100 },
      extras: { topic: `apps.${stack.app}.users.alice.messages.bob.clientadded` },
    });
    expect(events.find((e) => e.event_type === 'message-return-receipt')).toMatchObject({
      recipient_id: 'alice',
      message_id: last.payload.message_id,
      data: { timelineOf: 'alice', status: 250, read_by: 'bob' },
    });
    expect(events.find((e) => e.event_type === 'conversation-archived')).toMatchObject({
      user_id: 'bob',
      convers_with: 'carol',
      data: { archived: true },
    });

    // In order per conversation: the first successful arrival of each event follows the messages' seq.
    for (const sender of ['alice', 'carol']) {
      const firstArrivals: number[] = [];
      const seen = new Set<unknown>();
      for (const request of receiver.requests) {
        const body = request.body as {
          event_id: string;
          event_type: string;
          data: { sender?: string; seq?: number };
        };
        if (request.answered !== 200 || seen.has(body.event_id)) continue;
        seen.add(body.event_id);
        if (body.event_type === 'message-delivered' && body.data.sender === sender)
          firstArrivals.push(body.data.seq!);
      }
      expect(firstArrivals).toEqual([...firstArrivals].sort((x, y) => x - y));
      expect(firstArrivals.length).toBeGreaterThanOrEqual(PER_CONVERSATION);
    }
    expect(await stack.router!.store.webhookDeliveryCounts(stack.app)).toMatchObject({ pending: 0, dead: 0 });
  });
});

describe('a webhook endpoint that never answers', () => {
  let receiver: WebhookReceiver;
  let stack: TestStack;

  beforeAll(async () => {
    receiver = await WebhookReceiver.start();
    receiver.behaviour = () => 'hang';
    stack = new TestStack('deadhooks', webhookEnv(receiver.url, { MERCURIO_WEBHOOK_MAX_ATTEMPTS: '3' }));
    await stack.startRouter();
  });
  afterAll(async () => {
    await stack.close();
    await receiver.close();
  });

  it('does not slow message delivery, and its events end dead-lettered and counted', async () => {
    const ann = await stack.client('ann');
    const started = Date.now();
    // 50 conversations: each has its own queue of webhook events (they are ordered per conversation).
    for (let i = 0; i < 50; i++) await ann.publish(stack.outgoing('ann', `r${i}`), { text: `m${i}` });
    await ann.waitForCount((m) => m.topic.endsWith('/clientadded'), 50);
    // Each webhook request hangs until the 300 ms timeout; delivery does not wait for any of them.
    expect(Date.now() - started).toBeLessThan(5000);

    await expect
      .poll(async () => (await stack.router!.store.webhookDeliveryCounts(stack.app)).dead, {
        timeout: 30_000,
        interval: 200,
      })
      .toBe(100);
    const metrics = await stack.router!.metrics.registry.getSingleMetricAsString(
      'mercurio_webhook_deliveries_total',
    );
    expect(metrics).toMatch(/result="dead"} 50/);
    // three attempts for each event, no more
    expect(receiver.requests.length).toBe(300);
  });
});
