import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Received, TestClient } from './support/mqtt-client.js';
import { ENGINES, TestStack } from './support/stack.js';

describe.each(ENGINES)('bad input is refused clearly and nothing else suffers (%s)', (engine) => {
  const stack = new TestStack('errors', { MERCURIO_MAX_PAYLOAD_BYTES: '4096' }, engine);
  let uma: TestClient;
  let vic: TestClient;

  const errorFor = (user: string) => (m: Received) =>
    m.topic === stack.topic('users', user, 'errors', 'clientadded');

  beforeAll(async () => {
    await stack.startRouter();
    [uma, vic] = await Promise.all([stack.client('uma'), stack.client('vic')]);
  });
  afterAll(() => stack.close());

  async function expectRefused(code: string, send: () => Promise<void>) {
    const before = uma.received.filter(errorFor('uma')).length;
    await send();
    const errors = await uma.waitForCount(errorFor('uma'), before + 1);
    expect(errors.at(-1)!.payload).toMatchObject({ code });
    return errors.at(-1)!.payload;
  }

  it('malformed JSON', async () => {
    const error = await expectRefused('invalid_json', () =>
      uma.publish(stack.outgoing('uma', 'vic'), '{"text": "oops'),
    );
    expect(error).toMatchObject({
      topic: stack.outgoing('uma', 'vic'),
      message: expect.stringContaining('JSON'),
    });
  });

  it('a payload that is JSON but not a message', async () => {
    await expectRefused('invalid_payload', () => uma.publish(stack.outgoing('uma', 'vic'), '[1,2,3]'));
    await expectRefused('invalid_payload', () => uma.publish(stack.outgoing('uma', 'vic'), { text: 42 }));
    await expectRefused('invalid_payload', () =>
      uma.publish(stack.outgoing('uma', 'vic'), { text: 'x', message_id: 'not-a-uuid' }),
    );
  });

  it('an oversized payload, naming the limit', async () => {
    const error = await expectRefused('payload_too_large', () =>
      uma.publish(stack.outgoing('uma', 'vic'), { text: 'x'.repeat(5000) }),
    );
    expect(error.message).toContain('4096');
  });

  it('a NUL character anywhere in the payload (PostgreSQL cannot store it)', async () => {
    const error = await expectRefused('invalid_payload', () =>
      uma.publish(stack.outgoing('uma', 'vic'), { text: 'before\u0000after' }),
    );
    expect(error.message).toContain('NUL');
    await expectRefused('invalid_payload', () =>
      uma.publish(stack.outgoing('uma', 'vic'), { text: 'x', attributes: { 'k\u0000': 1 } }),
    );
  });

  it('an id that would break a topic', async () => {
    const error = await expectRefused('invalid_id', () =>
      uma.publish(stack.outgoing('uma', 'v*c'), { text: 'star' }),
    );
    expect(error.message).toContain("'*'");
  });

  it('an inline group with a member id that would break a topic', async () => {
    await expectRefused('invalid_id', () =>
      uma.publish(stack.outgoing('uma', 'group-grp'), { text: 'g', group: { members: { 'bad id': 1 } } }),
    );
  });

  it('keeps serving: after all of the above, a good message is delivered and nothing bad was stored', async () => {
    await uma.publish(stack.outgoing('uma', 'vic'), { text: 'still works' });
    await vic.waitFor((m) => m.payload.text === 'still works');
    const { rows } = await stack.sql.query('SELECT text FROM messages WHERE app_id = $1', [stack.app]);
    expect(rows).toEqual([{ text: 'still works' }]);
    expect(
      vic.received.filter((m) => m.topic.endsWith('/clientadded') && !m.topic.includes('/errors/')),
    ).toHaveLength(1);
  });
});
