import { MercurioError } from '../errors.js';
import { insertOutbox, type OutboxEntry } from './outbox-sql.js';
import {
  CONVERSATION_COLUMNS,
  type ConversationRow,
  MESSAGE_COLUMNS,
  type MessageRow,
  toConversation,
  toMessage,
} from './rows.js';
import { type SqlExecutor, sqlState, UNIQUE_VIOLATION } from './sql.js';
import type {
  ConversationDelivery,
  ConversationRecord,
  NewMessage,
  RecordedMessage,
  StoredMessage,
} from './store.js';

export async function findMessage(
  db: SqlExecutor,
  app: string,
  messageId: string,
): Promise<StoredMessage | null> {
  const { rows } = await db.query<MessageRow>(
    `SELECT ${MESSAGE_COLUMNS} FROM messages WHERE app_id = $1 AND message_id = $2`,
    [app, messageId],
  );
  return rows[0] ? toMessage(rows[0]) : null;
}

/**
 * Stores the message and updates its conversation rows in the caller's transaction.
 * The conversation head row is locked by the increment, so concurrent writers of one
 * conversation are serialised and sequence numbers follow commit order without gaps.
 */
export async function insertMessage(
  tx: SqlExecutor,
  message: NewMessage,
  deliveries: readonly ConversationDelivery[],
  outbox?: (recorded: RecordedMessage) => OutboxEntry[],
): Promise<RecordedMessage> {
  const existing = await findMessage(tx, message.app, message.messageId);
  if (existing) return duplicateOf(existing, message);

  const { rows } = await tx.query<{ last_seq: number }>(
    `INSERT INTO conversation_heads (app_id, conversation_key, last_seq) VALUES ($1, $2, 1)
     ON CONFLICT (app_id, conversation_key) DO UPDATE SET last_seq = conversation_heads.last_seq + 1
     RETURNING last_seq`,
    [message.app, message.conversationKey],
  );
  const seq = Number(rows[0]!.last_seq);
  await tx.query(
    `INSERT INTO messages (${MESSAGE_COLUMNS}) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10)`,
    [
      message.app,
      message.conversationKey,
      seq,
      message.messageId,
      message.sender,
      message.recipient,
      message.channelType,
      message.body,
      message.text,
      message.createdAt,
    ],
  );
  const stored: StoredMessage = { ...message, seq };
  const unarchived = deliveries.length > 0 ? await upsertConversations(tx, stored, deliveries) : [];
  const recorded = { message: stored, duplicate: false, unarchived };
  if (outbox) await insertOutbox(tx, outbox(recorded), message.createdAt);
  return recorded;
}

function duplicateOf(existing: StoredMessage, message: NewMessage): RecordedMessage {
  if (existing.sender !== message.sender) {
    throw new MercurioError(
      'message_id_conflict',
      `message_id ${message.messageId} is already used by another sender`,
    );
  }
  return { message: existing, duplicate: true, unarchived: [] };
}

/** True when the error is the race of two transactions inserting the same message id. */
export function isDuplicateInsert(error: unknown): boolean {
  return sqlState(error) === UNIQUE_VIOLATION;
}

async function upsertConversations(
  tx: SqlExecutor,
  message: StoredMessage,
  deliveries: readonly ConversationDelivery[],
): Promise<ConversationRecord[]> {
  const owners = deliveries.map((d) => d.owner);
  const { rows: archived } = await tx.query<{ owner: string }>(
    `SELECT owner FROM conversations
     WHERE app_id = $1 AND conversation_key = $2 AND owner = ANY($3::text[]) AND archived`,
    [message.app, message.conversationKey, owners],
  );
  // The sender has read their own message; every other participant has one more unread.
  await tx.query(
    `INSERT INTO conversations AS c (app_id, owner, convers_with, conversation_key, channel_type, last_seq,
       last_message, unread_count, read_seq, archived, is_new, updated_at)
     SELECT $1::text, d.owner, d.convers_with, $2::text, $3::text, $4::bigint, $5::jsonb,
       CASE WHEN d.is_sender THEN 0 ELSE 1 END, CASE WHEN d.is_sender THEN $4::bigint ELSE 0 END,
       false, NOT d.is_sender, $6::bigint
     FROM unnest($7::text[], $8::text[], $9::boolean[]) AS d(owner, convers_with, is_sender)
     ON CONFLICT (app_id, owner, convers_with) DO UPDATE SET
       last_seq = GREATEST(c.last_seq, EXCLUDED.last_seq),
       last_message = EXCLUDED.last_message,
       unread_count = c.unread_count + EXCLUDED.unread_count,
       read_seq = GREATEST(c.read_seq, EXCLUDED.read_seq),
       archived = false,
       is_new = c.is_new OR EXCLUDED.is_new,
       updated_at = EXCLUDED.updated_at`,
    [
      message.app,
      message.conversationKey,
      message.channelType,
      message.seq,
      message.body,
      message.createdAt,
      owners,
      deliveries.map((d) => d.conversWith),
      deliveries.map((d) => d.isSender),
    ],
  );
  if (archived.length === 0) return [];
  const { rows } = await tx.query<ConversationRow>(
    `SELECT ${CONVERSATION_COLUMNS} FROM conversations
     WHERE app_id = $1 AND conversation_key = $2 AND owner = ANY($3::text[])`,
    [message.app, message.conversationKey, archived.map((row) => row.owner)],
  );
  return rows.map(toConversation);
}
