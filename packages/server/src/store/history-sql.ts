import type { ConversationPage, ConversationReader, HistoryQuery } from './api-store.js';
import {
  CONVERSATION_COLUMNS,
  type ConversationRow,
  MESSAGE_COLUMNS,
  type MessageRow,
  toConversation,
  toMessage,
} from './rows.js';
import type { SqlExecutor } from './sql.js';
import type { ConversationRecord, StoredMessage } from './types.js';

/** A page of one user's conversation list, newest first, after an (updatedAt, conversWith) cursor. */
export async function listConversations(
  db: SqlExecutor,
  app: string,
  owner: string,
  page: ConversationPage,
): Promise<ConversationRecord[]> {
  const { rows } = await db.query<ConversationRow>(
    `SELECT ${CONVERSATION_COLUMNS} FROM conversations
     WHERE app_id = $1 AND owner = $2 AND archived = $3
       AND ($4::bigint IS NULL OR (updated_at, convers_with) < ($4::bigint, $5::text))
     ORDER BY updated_at DESC, convers_with DESC LIMIT $6`,
    [app, owner, page.archived, page.after?.updatedAt ?? null, page.after?.conversWith ?? '', page.limit],
  );
  return rows.map(toConversation);
}

/** What one user may read of a conversation they have a row for. */
export async function conversationReader(
  db: SqlExecutor,
  app: string,
  owner: string,
  conversWith: string,
): Promise<ConversationReader | null> {
  const { rows } = await db.query<ConversationRow & { visible_until_seq: number | null }>(
    `SELECT ${CONVERSATION_COLUMNS}, visible_until_seq FROM conversations
     WHERE app_id = $1 AND owner = $2 AND convers_with = $3`,
    [app, owner, conversWith],
  );
  const row = rows[0];
  if (!row) return null;
  return {
    conversation: toConversation(row),
    visibleUntilSeq: row.visible_until_seq === null ? null : Number(row.visible_until_seq),
  };
}

/**
 * A page of a conversation's messages by sequence number (the primary key's order, so an index
 * range scan): newest first below `before` (or from the end), oldest first above `after`.
 * Messages hidden from `viewer` (attributes.hiddenFor) and beyond `maxSeq` are left out.
 */
export async function messageHistory(
  db: SqlExecutor,
  app: string,
  conversationKey: string,
  query: HistoryQuery,
): Promise<StoredMessage[]> {
  const ascending = query.after !== undefined;
  const { rows } = await db.query<MessageRow>(
    `SELECT ${MESSAGE_COLUMNS} FROM messages
     WHERE app_id = $1 AND conversation_key = $2
       AND ($3::bigint IS NULL OR seq < $3::bigint)
       AND ($4::bigint IS NULL OR seq > $4::bigint)
       AND ($5::bigint IS NULL OR seq <= $5::bigint)
       AND (body->'attributes'->>'hiddenFor') IS DISTINCT FROM $6::text
     ORDER BY seq ${ascending ? 'ASC' : 'DESC'} LIMIT $7`,
    [
      app,
      conversationKey,
      query.before ?? null,
      query.after ?? null,
      query.maxSeq ?? null,
      query.viewer,
      query.limit,
    ],
  );
  return rows.map(toMessage);
}
