import { CONVERSATION_COLUMNS, type ConversationRow, toConversation } from './rows.js';
import type { SqlExecutor } from './sql.js';
import type { ConversationRecord } from './types.js';

const WHERE_ONE = 'app_id = $1 AND owner = $2 AND convers_with = $3';

/** Messages from others after the watermark: the unread count, derived rather than trusted. */
const UNREAD_AFTER = (watermark: string) => `(SELECT count(*) FROM messages m
  WHERE m.app_id = c.app_id AND m.conversation_key = c.conversation_key
    AND m.seq > ${watermark} AND m.sender <> c.owner)`;

async function one(db: SqlExecutor, sql: string, params: unknown[]): Promise<ConversationRecord | null> {
  const { rows } = await db.query<ConversationRow>(sql, params);
  return rows[0] ? toConversation(rows[0]) : null;
}

export function getConversation(db: SqlExecutor, app: string, owner: string, conversWith: string) {
  return one(db, `SELECT ${CONVERSATION_COLUMNS} FROM conversations WHERE ${WHERE_ONE}`, [
    app,
    owner,
    conversWith,
  ]);
}

export function markRead(db: SqlExecutor, app: string, reader: string, conversWith: string, seq: number) {
  return one(
    db,
    `UPDATE conversations c SET
       read_seq = GREATEST(c.read_seq, $4::bigint),
       unread_count = ${UNREAD_AFTER('GREATEST(c.read_seq, $4::bigint)')},
       is_new = c.is_new AND ${UNREAD_AFTER('GREATEST(c.read_seq, $4::bigint)')} > 0,
       mentioned = c.mentioned AND ${UNREAD_AFTER('GREATEST(c.read_seq, $4::bigint)')} > 0
     WHERE ${WHERE_ONE} RETURNING ${CONVERSATION_COLUMNS}`,
    [app, reader, conversWith, seq],
  );
}

export function patchConversation(
  db: SqlExecutor,
  app: string,
  owner: string,
  conversWith: string,
  patch: { isNew: boolean },
) {
  // Marking read (is_new false) moves the watermark to the newest message and clears the count;
  // marking unread only raises the flag.
  return one(
    db,
    `UPDATE conversations c SET
       is_new = $4::boolean,
       read_seq = CASE WHEN $4::boolean THEN c.read_seq ELSE c.last_seq END,
       unread_count = CASE WHEN $4::boolean THEN c.unread_count ELSE 0 END,
       mentioned = CASE WHEN $4::boolean THEN c.mentioned ELSE false END
     WHERE ${WHERE_ONE} RETURNING ${CONVERSATION_COLUMNS}`,
    [app, owner, conversWith, patch.isNew],
  );
}

export function setArchived(
  db: SqlExecutor,
  app: string,
  owner: string,
  conversWith: string,
  archived: boolean,
) {
  return one(
    db,
    `UPDATE conversations SET archived = $4 WHERE ${WHERE_ONE} RETURNING ${CONVERSATION_COLUMNS}`,
    [app, owner, conversWith, archived],
  );
}

export async function directPeers(
  db: SqlExecutor,
  app: string,
  user: string,
  limit: number,
): Promise<string[]> {
  const { rows } = await db.query<{ convers_with: string }>(
    `SELECT convers_with FROM conversations
     WHERE app_id = $1 AND owner = $2 AND channel_type = 'direct' AND convers_with <> owner
     ORDER BY updated_at DESC LIMIT $3`,
    [app, user, limit],
  );
  return rows.map((row) => row.convers_with);
}
