import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Received, TestClient } from './support/mqtt-client.js';
import { ENGINES, TestStack } from './support/stack.js';

/**
 * An MQTT client whose PUBACK was lost sends the same PUBLISH again with the DUP flag (MQTT 3.1.1
 * §3.3.1.1), as after a reconnect before the PUBACK. A message without message_id (every Chat21
 * client's) is then stored once; the same text sent again on purpose (no DUP) is a second message;
 * a resend whose first copy never arrived is stored.
 */
describe.each(ENGINES)('an MQTT resend (DUP) of a message without message_id (%s)', (engine) => {
  const stack = new TestStack('retransmit', {}, engine);
  let ida: TestClient;
  let joe: TestClient;

  beforeAll(async () => {
    await stack.startRouter();
    [ida, joe] = (await Promise.all([stack.client('ida'), stack.client('joe')])) as [TestClient, TestClient];
  });
  afterAll(() => stack.close());

  const toJoe = (m: Received) => m.topic === stack.topic('users', 'joe', 'messages', 'ida', 'clientadded');
  const stored = async () =>
    (
      await stack.sql.query<{ message_id: string; seq: number; text: string }>(
        'SELECT message_id, seq::int AS seq, text FROM messages WHERE app_id = $1 ORDER BY seq',
        [stack.app],
      )
    ).rows;

  it('is stored once; a repeat sent on purpose is a new message', async () => {
    const topic = stack.outgoing('ida', 'joe');
    // Byte for byte what a Chat21 client sends: no message_id.
    const body = JSON.stringify({ text: 'on my way', type: 'text', channel_type: 'direct' });
    const resend = (dup: boolean) => ida.mqtt.publishAsync(topic, body, { qos: 1, dup });

    await resend(false);
    await joe.waitForCount(toJoe, 1);
    await resend(true); // its PUBACK was lost: the same PUBLISH again, DUP set
    await resend(false); // later, the same text on purpose
    await resend(true); // and that one's PUBACK lost too
    // A resend whose first copy never reached the broker is the message.
    await ida.mqtt.publishAsync(topic, JSON.stringify({ text: 'first copy lost', type: 'text' }), {
      qos: 1,
      dup: true,
    });
    await ida.publish(topic, { text: 'done', type: 'text' });
    await joe.waitFor((m) => toJoe(m) && m.payload.text === 'done');

    const rows = await stored();
    expect(rows.map((r) => [r.seq, r.text])).toEqual([
      [1, 'on my way'],
      [2, 'on my way'],
      [3, 'first copy lost'],
      [4, 'done'],
    ]);
    // Joe got each resend as the stored message again (same id, same seq), never a new one.
    const received = joe.received.filter(toJoe).map((m) => [m.payload.seq, m.payload.message_id]);
    expect(received).toEqual([
      [1, rows[0]!.message_id],
      [1, rows[0]!.message_id],
      [2, rows[1]!.message_id],
      [2, rows[1]!.message_id],
      [3, rows[2]!.message_id],
      [4, rows[3]!.message_id],
    ]);
  });
});
