import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Received, TestClient } from './support/mqtt-client.js';
import { ENGINES, TestStack } from './support/stack.js';

/** `{"a":{"a":…1…}}`, `levels` deep: ~5 bytes a level, far under the payload size limit. */
function nested(levels: number): string {
  return `${'{"a":'.repeat(levels)}1${'}'.repeat(levels)}`;
}

/** What the audit sent: a chat message whose attributes nest a few thousand levels deep (~12 KB). */
const deepMessage = (levels = 2400) => `{"text":"deep","attributes":${nested(levels)}}`;

/**
 * The audit's attack: dozens of payloads the store cannot take, from throwaway connections.
 * Before the fix each one failed in the store on every retry (PostgreSQL) or tied up the database
 * (PGlite), holding a prefetch slot and its conversation for ~31 s, so everyone's messages took
 * seconds. Now the edge refuses them with an error event and a bystander does not notice.
 */
describe.each(ENGINES)('poison payloads are refused at the edge (%s)', (engine) => {
  const stack = new TestStack('poison', { MERCURIO_HTTP_PORT: '0' }, engine);
  let mallory: TestClient;
  let ann: TestClient;
  let ben: TestClient;
  const errors = (m: Received) => m.topic === stack.topic('users', 'mallory', 'errors', 'clientadded');

  beforeAll(async () => {
    await stack.startRouter({ http: true });
    [mallory, ann, ben] = await Promise.all([
      stack.client('mallory'),
      stack.client('ann'),
      stack.client('ben'),
    ]);
  });
  afterAll(() => stack.close());

  it('dozens of deeply nested payloads: the attacker gets invalid_payload, a bystander’s messages stay prompt', {
    timeout: 60_000,
  }, async () => {
    const attacks = 32;
    const attacking = Promise.all(
      Array.from({ length: attacks }, async (_, i) => {
        // A throwaway connection per payload, QoS 0 and QoS 1 alike, to a fresh conversation each.
        const throwaway = await stack.client('mallory', { subscribe: false });
        await throwaway.publish(stack.outgoing('mallory', `target${i}`), deepMessage(), i % 2 === 0 ? 1 : 0);
        await throwaway.mqtt.endAsync(); // not forced: a QoS 0 publish still in the socket goes out
      }),
    );
    const slowest = await bystanderConversation(10);
    await attacking;

    const refusals = await mallory.waitForCount(errors, attacks, 20_000);
    for (const refusal of refusals) {
      expect(refusal.payload).toMatchObject({ code: 'invalid_payload' });
      expect(refusal.payload.message).toMatch(/nest/);
    }
    expect(slowest).toBeLessThan(3000);
    const { rows } = await stack.sql.query<{ sender: string }>(
      'SELECT sender FROM messages WHERE app_id = $1 ORDER BY sender',
      [stack.app],
    );
    expect(rows.every((row) => row.sender !== 'mallory')).toBe(true);
  });

  it('escapes PostgreSQL cannot store (unpaired surrogates) are refused with invalid_payload', async () => {
    const before = mallory.received.filter(errors).length;
    await mallory.publish(stack.outgoing('mallory', 'ann'), '{"text":"half an emoji \\ud83d"}');
    await mallory.publish(stack.outgoing('mallory', 'ann'), '{"text":"x","attributes":{"\\udc00":1}}');
    const refusals = (await mallory.waitForCount(errors, before + 2)).slice(before);
    for (const refusal of refusals) {
      expect(refusal.payload).toMatchObject({ code: 'invalid_payload' });
      expect(refusal.payload.message).toMatch(/surrogate/);
    }
    // A paired surrogate escape is a real character and goes through.
    await mallory.publish(stack.outgoing('mallory', 'ann'), '{"text":"emoji \\ud83d\\ude00"}');
    const copy = await ann.waitFor((m) => m.topic.endsWith('/messages/mallory/clientadded'));
    expect(copy.payload.text).toBe('emoji 😀');
  });

  it('HTTP: the same deep body gets 400 invalid_payload, not 500', async () => {
    const url = `${stack.router!.httpUrl}/api/${stack.app}/messages`;
    const response = await fetch(url, {
      method: 'POST',
      headers: { authorization: await stack.token('mallory'), 'content-type': 'application/json' },
      body: `{"recipient_id":"ann","sender_fullname":"M","recipient_fullname":"A",${deepMessage().slice(1)}`,
    });
    expect(response.status).toBe(400);
    expect(response.headers.get('x-mercurio-error')).toBe('invalid_payload');
    const surrogate = await fetch(url, {
      method: 'POST',
      headers: { authorization: await stack.token('mallory'), 'content-type': 'application/json' },
      body: '{"recipient_id":"ann","sender_fullname":"M","recipient_fullname":"A","text":"\\ud800"}',
    });
    expect(surrogate.status).toBe(400);
    expect(surrogate.headers.get('x-mercurio-error')).toBe('invalid_payload');
  });

  /** Ann and Ben chat while the attack runs; returns the slowest delivery in ms. */
  async function bystanderConversation(count: number): Promise<number> {
    let slowest = 0;
    for (let i = 0; i < count; i++) {
      const text = `bystander ${i}`;
      const started = Date.now();
      await ann.publish(stack.outgoing('ann', 'ben'), { text });
      await ben.waitFor((m) => m.payload.text === text, 20_000);
      slowest = Math.max(slowest, Date.now() - started);
    }
    return slowest;
  }
});
