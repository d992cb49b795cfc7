import { MercurioError } from '../errors.js';
import { insertOutbox } from './outbox-sql.js';
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
  ContentQuery,
  ConversationDelivery,
  NewMessage,
  OutboxEntry,
  RecordedMessage,
  StoredMessage,
} from './types.js';

export async function findMessage(
  db: SqlExecutor,
  app: string,
  messageId: string,
): Promise<StoredMessage | null> {
  const { rows } = await db.query<MessageRow>(
    `SELECT ${MESSAGE_COLUMNS} FROM messages WHERE app_id = $1 AND message_id = $2`,
    [app, messageId],
    'mercurio_find_message',
  );
  return rows[0] ? toMessage(rows[0]) : null;
}

/**
 * Only id-less messages have a content key, and only they are in its (partial) index: a message
 * with a client id costs nothing more to store.
 */
export async function findByContent(db: SqlExecutor, query: ContentQuery): Promise<StoredMessage | null> {
  const { rows } = await db.query<MessageRow>(
    `SELECT ${MESSAGE_COLUMNS} FROM messages
     WHERE content_key = $1 AND app_id = $2 AND conversation_key = $3 AND sender = $4 AND created_at >= $5
     ORDER BY seq DESC LIMIT 1`,
    [query.contentKey, query.app, query.conversationKey, query.sender, query.since],
    'mercurio_find_by_content',
  );
  return rows[0] ? toMessage(rows[0]) : null;
}

/**
 * Stores the message and updates its conversation rows in ONE statement (one round trip, atomic
 * on its own), so the hot path costs a single query when no webhook event is written with it.
 *
 * - `existing`: a message with this id already stored → nothing is written (idempotent).
 * - `head`: the conversation's head row is incremented and so locked: concurrent writers of one
 *   conversation are serialised and sequence numbers follow commit order without gaps.
 * - `archived`: read from the statement's snapshot, i.e. before the upsert un-archives them.
 * Two concurrent first deliveries of one id: the loser fails on the unique index and is retried
 * by the caller, then finds `existing`.
 */
const RECORD_MESSAGE = `
WITH existing AS (
  SELECT ${MESSAGE_COLUMNS} FROM messages WHERE app_id = $1 AND message_id = $3
), head AS (
  INSERT INTO conversation_heads AS h (app_id, conversation_key, last_seq)
  SELECT $1::text, $2::text, 1 WHERE NOT EXISTS (SELECT 1 FROM existing)
  ON CONFLICT (app_id, conversation_key) DO UPDATE SET last_seq = h.last_seq + 1
  RETURNING last_seq
), inserted AS (
  INSERT INTO messages (${MESSAGE_COLUMNS}, content_key)
  SELECT $1::text, $2::text, head.last_seq, $3::text, $4::text, $5::text, $6::text, $7::jsonb, $8::text, $9::bigint,
    $13::text
  FROM head
  RETURNING seq
), archived AS (
  SELECT owner FROM conversations
  WHERE app_id = $1 AND conversation_key = $2 AND owner = ANY($10::text[]) AND archived
), upserted AS (
  INSERT INTO conversations AS c (app_id, owner, convers_with, conversation_key, channel_type, last_seq,
    last_message, unread_count, read_seq, archived, is_new, updated_at, mentioned)
  SELECT $1::text, d.owner, d.convers_with, $2::text, $6::text, i.seq, $7::jsonb,
    CASE WHEN d.is_sender THEN 0 ELSE 1 END, CASE WHEN d.is_sender THEN i.seq ELSE 0 END,
    false, NOT d.is_sender, $9::bigint, d.owner = ANY($14::text[])
  FROM inserted i, unnest($10::text[], $11::text[], $12::boolean[]) AS d(owner, convers_with, is_sender)
  ON CONFLICT (app_id, owner, convers_with) DO UPDATE SET
    last_seq = GREATEST(c.last_seq, EXCLUDED.last_seq),
    last_message = EXCLUDED.last_message,
    -- A muted conversation (data policies) is not bumped: its owner chose not to be told.
    unread_count = c.unread_count + CASE WHEN c.muted THEN 0 ELSE EXCLUDED.unread_count END,
    read_seq = GREATEST(c.read_seq, EXCLUDED.read_seq),
    archived = false,
    is_new = c.is_new OR EXCLUDED.is_new,
    mentioned = c.mentioned OR EXCLUDED.mentioned,
    updated_at = EXCLUDED.updated_at
  RETURNING ${CONVERSATION_COLUMNS}
)
SELECT (SELECT seq FROM inserted) AS seq,
  (SELECT row_to_json(e) FROM existing e) AS existing,
  (SELECT coalesce(json_agg(u), '[]'::json) FROM upserted u WHERE u.owner IN (SELECT owner FROM archived))
    AS unarchived,
  (SELECT coalesce(json_agg(u.owner), '[]'::json) FROM upserted u WHERE u.muted) AS muted`;

export async function insertMessage(
  db: SqlExecutor,
  message: NewMessage,
  deliveries: readonly ConversationDelivery[],
): Promise<RecordedMessage> {
  const { rows } = await db.query<{
    seq: number | null;
    existing: MessageRow | null;
    unarchived: ConversationRow[];
    muted: string[];
  }>(
    RECORD_MESSAGE,
    [
      message.app,
      message.conversationKey,
      message.messageId,
      message.sender,
      message.recipient,
      message.channelType,
      JSON.stringify(message.body),
      message.text,
      message.createdAt,
      deliveries.map((d) => d.owner),
      deliveries.map((d) => d.conversWith),
      deliveries.map((d) => d.isSender),
      message.contentKey ?? null,
      message.mentioned ?? [],
    ],
    'mercurio_record_message',
  );
  const row = rows[0]!;
  if (row.existing) return duplicateOf(toMessage(row.existing), message);
  return {
    message: { ...message, seq: Number(row.seq) },
    duplicate: false,
    unarchived: row.unarchived.map(toConversation),
    muted: row.muted,
  };
}

/** As insertMessage, and the webhook events it reports, in the caller's transaction. */
export async function insertMessageWithOutbox(
  tx: SqlExecutor,
  message: NewMessage,
  deliveries: readonly ConversationDelivery[],
  outbox: (recorded: RecordedMessage) => OutboxEntry[],
): Promise<RecordedMessage> {
  const recorded = await insertMessage(tx, message, deliveries);
  if (!recorded.duplicate) await insertOutbox(tx, outbox(recorded), message.createdAt);
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
