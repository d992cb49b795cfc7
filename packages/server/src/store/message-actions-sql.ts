import { MercurioError } from '../errors.js';
import type {
  ChangedMessage,
  MessageActionStore,
  MessageChangePlan,
  MessageVersion,
} from './message-action-store.js';
import { insertOutbox } from './outbox-sql.js';
import {
  CONVERSATION_COLUMNS,
  type ConversationRow,
  MESSAGE_COLUMNS,
  type MessageRow,
  toConversation,
  toMessage,
} from './rows.js';
import type { SqlDatabase, SqlExecutor } from './sql.js';
import type { ConversationRecord, StoredMessage } from './types.js';

/** How many users a message's reaction summary names per emoji (the first by time). */
export const REACTION_USERS_SHOWN = 20;

export function createMessageActionStore(db: SqlDatabase): MessageActionStore {
  return {
    changeMessage: (app, messageId, decide, outbox) =>
      db.transaction(async (tx) => {
        const { rows } = await tx.query<MessageRow>(
          `SELECT ${MESSAGE_COLUMNS} FROM messages WHERE app_id = $1 AND message_id = $2 FOR UPDATE`,
          [app, messageId],
        );
        const current = rows[0] ? toMessage(rows[0]) : null;
        const plan = decide(current);
        if (plan.kind === 'none' || current === null)
          return { message: current!, changed: false, conversations: [] };
        const changed = await apply(tx, current, plan);
        if (changed.changed && outbox) await insertOutbox(tx, outbox(changed), planTime(plan));
        return changed;
      }),
    hideMessage: (app, user, message, at, placeholder) =>
      db.transaction(async (tx) => {
        const { rows } = await tx.query(
          `INSERT INTO message_hidden (app_id, user_id, message_id, conversation_key, seq, hidden_at)
           VALUES ($1, $2, $3, $4, $5, $6) ON CONFLICT DO NOTHING RETURNING seq`,
          [app, user, message.messageId, message.conversationKey, message.seq, at],
        );
        if (rows.length === 0) return { hidden: false, conversation: null };
        // The user's entry showed it: now their newest message they still see (up to their
        // row's last seq: a member who left sees nothing later), else the placeholder.
        const { rows: entries } = await tx.query<ConversationRow>(
          `UPDATE conversations c SET last_message = coalesce(
             (SELECT m.body FROM messages m
              WHERE m.app_id = c.app_id AND m.conversation_key = c.conversation_key AND m.seq <= c.last_seq
                AND (m.body->'attributes'->>'hiddenFor') IS DISTINCT FROM c.owner
                AND NOT EXISTS (SELECT 1 FROM message_hidden h
                                WHERE h.app_id = m.app_id AND h.user_id = c.owner AND h.message_id = m.message_id)
              ORDER BY m.seq DESC LIMIT 1),
             $5::jsonb)
           WHERE c.app_id = $1 AND c.owner = $2 AND c.conversation_key = $3
             AND (c.last_message->>'message_id') = $4
           RETURNING ${CONVERSATION_COLUMNS}`,
          [app, user, message.conversationKey, message.messageId, JSON.stringify(placeholder)],
        );
        return { hidden: true, conversation: entries[0] ? toConversation(entries[0]) : null };
      }),
    async hiddenFor(app, user, messageIds) {
      if (messageIds.length === 0) return new Set();
      const { rows } = await db.query<{ message_id: string }>(
        `SELECT message_id FROM message_hidden WHERE app_id = $1 AND user_id = $2 AND message_id = ANY($3::text[])`,
        [app, user, [...messageIds]],
      );
      return new Set(rows.map((row) => row.message_id));
    },
    async findMessages(app, messageIds) {
      if (messageIds.length === 0) return [];
      const { rows } = await db.query<MessageRow>(
        `SELECT ${MESSAGE_COLUMNS} FROM messages WHERE app_id = $1 AND message_id = ANY($2::text[])`,
        [app, [...messageIds]],
      );
      return rows.map(toMessage);
    },
    async readWatermarks(app, conversationKey) {
      const { rows } = await db.query<{ owner: string; read_seq: number }>(
        'SELECT owner, read_seq FROM conversations WHERE app_id = $1 AND conversation_key = $2',
        [app, conversationKey],
      );
      return new Map(rows.map((row) => [row.owner, Number(row.read_seq)]));
    },
    async replies(app, conversationKey, messageId, query) {
      const { rows } = await db.query<MessageRow>(
        `SELECT ${MESSAGE_COLUMNS} FROM messages
         WHERE app_id = $1 AND conversation_key = $2 AND body ? 'reply_to' AND (body->>'reply_to') = $3
           AND seq > $4::bigint AND ($5::bigint IS NULL OR seq <= $5::bigint)
         ORDER BY seq ASC LIMIT $6`,
        [app, conversationKey, messageId, query.after ?? 0, query.maxSeq ?? null, query.limit],
      );
      return rows.map(toMessage);
    },
    async messageVersions(app, messageId) {
      const { rows } = await db.query<{
        version: number;
        body: Record<string, unknown>;
        text: string | null;
        replaced_at: number;
        replaced_by: string;
        change: 'edited' | 'deleted';
      }>(
        `SELECT version, body, text, replaced_at, replaced_by, change FROM message_versions
         WHERE app_id = $1 AND message_id = $2 ORDER BY version`,
        [app, messageId],
      );
      return rows.map(
        (row): MessageVersion => ({
          version: Number(row.version),
          body: row.body,
          text: row.text,
          replacedAt: Number(row.replaced_at),
          replacedBy: row.replaced_by,
          change: row.change,
        }),
      );
    },
  };
}

function planTime(plan: Exclude<MessageChangePlan, { kind: 'none' }>): number {
  return plan.at;
}

async function apply(
  tx: SqlExecutor,
  current: StoredMessage,
  plan: Exclude<MessageChangePlan, { kind: 'none' }>,
): Promise<ChangedMessage> {
  if (plan.kind === 'react') return react(tx, current, plan);
  const deleted = plan.kind === 'delete';
  const text = deleted ? '' : plan.text;
  await tx.query(
    `INSERT INTO message_versions (app_id, message_id, version, body, text, replaced_at, replaced_by, change)
     SELECT $1, $2, coalesce(max(version), 0) + 1, $3::jsonb, $4, $5, $6, $7
     FROM message_versions WHERE app_id = $1 AND message_id = $2`,
    [
      current.app,
      current.messageId,
      JSON.stringify(current.body),
      current.text,
      plan.at,
      plan.by,
      deleted ? 'deleted' : 'edited',
    ],
  );
  if (deleted) {
    await tx.query('DELETE FROM message_reactions WHERE app_id = $1 AND message_id = $2', [
      current.app,
      current.messageId,
    ]);
  }
  await tx.query(
    `UPDATE messages SET body = $3::jsonb, text = $4,
       edited_at = CASE WHEN $5 THEN edited_at ELSE $6::bigint END,
       deleted_at = CASE WHEN $5 THEN $6::bigint ELSE deleted_at END
     WHERE app_id = $1 AND message_id = $2`,
    [current.app, current.messageId, JSON.stringify(plan.body), text, deleted, plan.at],
  );
  const message = { ...current, body: plan.body, text };
  const conversations = await rewriteLastMessage(tx, message);
  if (plan.kind === 'edit' && plan.newlyMentioned.length > 0) {
    // Flagged after the rewrite, so a row that is both comes back once, as it is now.
    const flagged = await flagMentioned(tx, message, plan.newlyMentioned);
    const owners = new Set(flagged.map((row) => row.owner));
    return {
      message,
      changed: true,
      conversations: [...conversations.filter((row) => !owners.has(row.owner)), ...flagged],
    };
  }
  return { message, changed: true, conversations };
}

/** An edit that mentions new participants flags their conversation rows, as a new message does. */
async function flagMentioned(
  tx: SqlExecutor,
  message: StoredMessage,
  users: readonly string[],
): Promise<ConversationRecord[]> {
  const { rows } = await tx.query<ConversationRow>(
    `UPDATE conversations SET mentioned = true
     WHERE app_id = $1 AND conversation_key = $2 AND owner = ANY($3::text[])
     RETURNING ${CONVERSATION_COLUMNS}`,
    [message.app, message.conversationKey, [...users]],
  );
  return rows.map(toConversation);
}

/** The conversation rows whose last message this is now show it as it is. */
async function rewriteLastMessage(tx: SqlExecutor, message: StoredMessage): Promise<ConversationRecord[]> {
  const { rows } = await tx.query<ConversationRow>(
    `UPDATE conversations SET last_message = $4::jsonb
     WHERE app_id = $1 AND conversation_key = $2 AND (last_message->>'message_id') = $3
     RETURNING ${CONVERSATION_COLUMNS}`,
    [message.app, message.conversationKey, message.messageId, JSON.stringify(message.body)],
  );
  return rows.map(toConversation);
}

async function react(
  tx: SqlExecutor,
  current: StoredMessage,
  plan: Extract<MessageChangePlan, { kind: 'react' }>,
): Promise<ChangedMessage> {
  const { app, messageId } = current;
  const key = [app, messageId, plan.reaction, plan.user];
  let changed: boolean;
  if (plan.action === 'remove') {
    const { rows } = await tx.query(
      'DELETE FROM message_reactions WHERE app_id = $1 AND message_id = $2 AND reaction = $3 AND user_id = $4 RETURNING 1',
      key,
    );
    changed = rows.length > 0;
  } else {
    const { rows } = await tx.query<{
      mine: boolean;
      distinct_reactions: number;
      own: number;
      present: boolean;
    }>(
      `SELECT bool_or(reaction = $3 AND user_id = $4) AS mine, count(DISTINCT reaction)::int AS distinct_reactions,
         count(*) FILTER (WHERE user_id = $4)::int AS own, bool_or(reaction = $3) AS present
       FROM message_reactions WHERE app_id = $1 AND message_id = $2`,
      key,
    );
    const counts = rows[0]!;
    // Adding the same reaction twice is one reaction: nothing changes.
    if (counts.mine) return { message: current, changed: false, conversations: [] };
    if (!counts.present && Number(counts.distinct_reactions) >= plan.limits.perMessage) {
      throw new MercurioError(
        'too_many_reactions',
        `a message has at most ${plan.limits.perMessage} distinct reactions`,
      );
    }
    if (Number(counts.own) >= plan.limits.perUser) {
      throw new MercurioError(
        'too_many_reactions',
        `a user has at most ${plan.limits.perUser} reactions on one message`,
      );
    }
    await tx.query(
      'INSERT INTO message_reactions (app_id, message_id, reaction, user_id, created_at) VALUES ($1, $2, $3, $4, $5)',
      [...key, plan.at],
    );
    changed = true;
  }
  if (!changed) return { message: current, changed: false, conversations: [] };
  const summary = await reactionSummary(tx, app, messageId);
  const { reactions: _old, ...rest } = current.body;
  const body = summary === undefined ? rest : { ...rest, reactions: summary };
  await tx.query('UPDATE messages SET body = $3::jsonb WHERE app_id = $1 AND message_id = $2', [
    app,
    messageId,
    JSON.stringify(body),
  ]);
  return { message: { ...current, body }, changed: true, conversations: [] };
}

/** Per emoji (in the order they were first used): the count and the first users by time. */
async function reactionSummary(
  tx: SqlExecutor,
  app: string,
  messageId: string,
): Promise<Record<string, { count: number; users: string[] }> | undefined> {
  const { rows } = await tx.query<{ reaction: string; count: number; users: string[] }>(
    `SELECT reaction, count(*)::int AS count,
       (array_agg(user_id ORDER BY created_at, user_id))[1:${REACTION_USERS_SHOWN}] AS users
     FROM message_reactions WHERE app_id = $1 AND message_id = $2
     GROUP BY reaction ORDER BY min(created_at), reaction`,
    [app, messageId],
  );
  if (rows.length === 0) return undefined;
  return Object.fromEntries(
    rows.map((row) => [row.reaction, { count: Number(row.count), users: row.users }]),
  );
}
