import { expect } from 'vitest';
import type { Received, TestClient } from './mqtt-client.js';
import type { TestStack } from './stack.js';

/** Helpers of the issue-15 tests (edit, delete, reactions, replies, mentions). */
export function messageActions(stack: TestStack) {
  const changeTopic = (user: string, cw: string, id: string, action: 'edit' | 'delete' | 'react') =>
    stack.topic('users', user, 'messages', cw, id, action);
  const updated = (user: string, cw: string, id: string, change?: string) => (m: Received) =>
    m.topic === stack.topic('users', user, 'messages', cw, id, 'clientupdated') &&
    (change === undefined || m.payload.change === change);
  const refused = (user: string, code: string, id: string) => (m: Received) =>
    m.topic === stack.topic('users', user, 'errors', 'clientadded') &&
    m.payload.code === code &&
    m.payload.message_id === id;

  return {
    changeTopic,
    updated,
    refused,
    /** Sends a message and waits for the recipient's copy. */
    async send(
      from: TestClient,
      sender: string,
      to: TestClient,
      recipient: string,
      payload: Record<string, unknown>,
    ) {
      await from.publish(stack.outgoing(sender, recipient), payload);
      const match = (m: Received) =>
        m.payload.text === payload.text && m.payload.sender === sender && m.topic.endsWith('/clientadded');
      return (await to.waitFor(match)).payload as Record<string, unknown> & {
        message_id: string;
        seq: number;
      };
    },
    /** Everything stored about a message: its row, versions, reactions, hidden rows. */
    async stored(id: string) {
      const q = async (sql: string) => (await stack.sql.query(sql, [stack.app, id])).rows;
      return {
        message: await q(
          'SELECT seq, body, text, edited_at, deleted_at FROM messages WHERE app_id = $1 AND message_id = $2',
        ),
        versions: await q(
          'SELECT version, body FROM message_versions WHERE app_id = $1 AND message_id = $2 ORDER BY 1',
        ),
        reactions: await q(
          'SELECT reaction, user_id FROM message_reactions WHERE app_id = $1 AND message_id = $2 ORDER BY 1, 2',
        ),
        hidden: await q(
          'SELECT user_id FROM message_hidden WHERE app_id = $1 AND message_id = $2 ORDER BY 1',
        ),
      };
    },
    /** Publishes a change that must be refused with `code`, and proves nothing stored changed. */
    async expectRefused(
      client: TestClient,
      user: string,
      topic: string,
      payload: unknown,
      code: string,
      id: string,
      stored: () => Promise<unknown>,
    ) {
      const before = await stored();
      const count = client.received.filter(refused(user, code, id)).length;
      await client.publish(topic, payload);
      await client.waitForCount(refused(user, code, id), count + 1);
      expect(await stored()).toEqual(before);
    },
  };
}
