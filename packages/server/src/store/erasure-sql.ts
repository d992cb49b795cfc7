import type { ErasureCounts, ErasureJob, ErasureMode } from './data-policy-store.js';
import { blobKeysOf, deleteMessageDependents, fixConversations } from './purge-sql.js';
import type { SqlDatabase, SqlExecutor } from './sql.js';

interface JobRow {
  app_id: string;
  user_id: string;
  mode: ErasureMode;
  status: 'running' | 'done';
  counts: ErasureCounts;
  started_at: number;
  finished_at: number | null;
}

const toJob = (row: JobRow): ErasureJob => ({
  app: row.app_id,
  user: row.user_id,
  mode: row.mode,
  status: row.status,
  counts: row.counts,
  startedAt: Number(row.started_at),
  finishedAt: row.finished_at === null ? null : Number(row.finished_at),
});

/** Opens (or reopens, to resume or repeat) the user's erasure job. */
export async function startErasure(
  db: SqlExecutor,
  app: string,
  user: string,
  mode: ErasureMode,
  now: number,
): Promise<ErasureJob> {
  const { rows } = await db.query<JobRow>(
    `INSERT INTO erasure_jobs (app_id, user_id, mode, status, started_at) VALUES ($1, $2, $3, 'running', $4)
     ON CONFLICT (app_id, user_id) DO UPDATE SET mode = EXCLUDED.mode, status = 'running', finished_at = NULL
     RETURNING *`,
    [app, user, mode, now],
  );
  return toJob(rows[0]!);
}

export async function getErasure(db: SqlExecutor, app: string, user: string): Promise<ErasureJob | null> {
  const { rows } = await db.query<JobRow>('SELECT * FROM erasure_jobs WHERE app_id = $1 AND user_id = $2', [
    app,
    user,
  ]);
  return rows[0] ? toJob(rows[0]) : null;
}

/** Adds a step's counts to the job, in the step's own transaction (a resumed job keeps them). */
async function addCounts(tx: SqlExecutor, app: string, user: string, counts: ErasureCounts): Promise<void> {
  await tx.query(
    `UPDATE erasure_jobs j SET counts = (
       SELECT coalesce(jsonb_object_agg(k, v), '{}'::jsonb) FROM (
         SELECT k, sum(v)::int AS v FROM (
           SELECT key AS k, value::int AS v FROM jsonb_each_text(j.counts)
           UNION ALL SELECT key, value::int FROM jsonb_each_text($3::jsonb)) a
         GROUP BY k) b)
     WHERE app_id = $1 AND user_id = $2`,
    [app, user, JSON.stringify(counts)],
  );
}

export async function finishErasure(
  db: SqlExecutor,
  app: string,
  user: string,
  now: number,
): Promise<ErasureJob> {
  const { rows } = await db.query<JobRow>(
    `UPDATE erasure_jobs SET status = 'done', finished_at = $3 WHERE app_id = $1 AND user_id = $2 RETURNING *`,
    [app, user, now],
  );
  return toJob(rows[0]!);
}

/**
 * Every conversation the user took part in: their conversation rows (direct and group, also
 * groups they left) and the groups they are a member of.
 */
export async function userConversationKeys(db: SqlExecutor, app: string, user: string): Promise<string[]> {
  const { rows } = await db.query<{ key: string }>(
    `SELECT conversation_key AS key FROM conversations WHERE app_id = $1 AND owner = $2
     UNION SELECT 'g/' || group_id FROM group_members WHERE app_id = $1 AND member_id = $2
     ORDER BY 1`,
    [app, user],
  );
  return rows.map((row) => row.key);
}

/** The tombstone a message becomes: who and when stay (the conversation's shape), nothing said. */
const TOMBSTONE = `jsonb_build_object(
  'message_id', m.message_id, 'sender', m.sender, 'recipient', m.recipient,
  'channel_type', m.channel_type, 'timestamp', m.created_at, 'type', 'text', 'text', '',
  'attributes', jsonb_build_object('erased', true))`;

/**
 * One batch of the user's messages in one conversation, after `afterSeq`: tombstoned (or
 * deleted), with their attachments' rows and webhook events. Returns the last seq handled
 * (undefined: the conversation is done) and the blob keys to remove after the commit.
 */
export async function eraseMessageBatch(
  db: SqlDatabase,
  app: string,
  user: string,
  mode: ErasureMode,
  key: string,
  afterSeq: number,
  limit: number,
): Promise<{ lastSeq: number | undefined; blobKeys: string[] }> {
  return db.transaction(async (tx) => {
    const { rows } = await tx.query<{ seq: number; message_id: string }>(
      `SELECT seq, message_id FROM messages
       WHERE app_id = $1 AND conversation_key = $2 AND seq > $3 AND sender = $4
         -- A tombstone of an earlier run is not erased (nor counted) again.
         AND body->'attributes'->>'erased' IS DISTINCT FROM 'true'
       ORDER BY seq LIMIT $5 FOR UPDATE`,
      [app, key, afterSeq, user, limit],
    );
    if (rows.length === 0) return { lastSeq: undefined, blobKeys: [] };
    const seqs = rows.map((r) => Number(r.seq));
    const ids = rows.map((r) => r.message_id);
    // Their earlier versions (what they said before an edit) and the reactions to them go in
    // either mode; a tombstone keeps no trace of what it was.
    const dependents = await deleteMessageDependents(tx, app, ids);
    if (mode === 'remove') {
      await tx.query(
        'DELETE FROM messages WHERE app_id = $1 AND conversation_key = $2 AND seq = ANY($3::bigint[])',
        [app, key, seqs],
      );
    } else {
      await tx.query(
        `UPDATE messages m SET body = ${TOMBSTONE}, text = NULL, content_key = NULL
         WHERE m.app_id = $1 AND m.conversation_key = $2 AND m.seq = ANY($3::bigint[])`,
        [app, key, seqs],
      );
    }
    const attachments = await tx.query<{ attachmentId: string; hasThumbnail: boolean }>(
      `DELETE FROM attachments WHERE app_id = $1 AND message_id = ANY($2::text[])
       RETURNING attachment_id AS "attachmentId", has_thumbnail AS "hasThumbnail"`,
      [app, ids],
    );
    const outbox = await tx.query<{ n: number }>(
      `WITH gone AS (DELETE FROM webhook_outbox WHERE app_id = $1 AND ordering_key = $2
         AND payload->>'message_id' = ANY($3::text[]) RETURNING 1) SELECT count(*)::int AS n FROM gone`,
      [app, key, ids],
    );
    await addCounts(tx, app, user, {
      [mode === 'remove' ? 'messages_removed' : 'messages_tombstoned']: rows.length,
      attachments: attachments.rows.length,
      webhook_events: outbox.rows[0]?.n ?? 0,
      versions_reactions_hidden: dependents,
    });
    return { lastSeq: seqs[seqs.length - 1], blobKeys: blobKeysOf(attachments.rows) };
  });
}

/**
 * After the user's own messages of a conversation: their name dropped from what others sent
 * them (recipient_fullname), the conversation rows' last message made the stored one again (a
 * tombstone, or the newest left), and webhook events that carried the user's copies deleted.
 */
export async function scrubConversation(
  db: SqlDatabase,
  app: string,
  user: string,
  key: string,
): Promise<void> {
  await db.transaction(async (tx) => {
    const names = await tx.query<{ n: number }>(
      `WITH changed AS (
         UPDATE messages SET body = body - 'recipient_fullname'
         WHERE app_id = $1 AND conversation_key = $2 AND recipient = $3 AND body ? 'recipient_fullname'
         RETURNING 1)
       SELECT count(*)::int AS n FROM changed`,
      [app, key, user],
    );
    // Earlier versions of what others sent them carry their name too.
    await tx.query(
      `UPDATE message_versions v SET body = v.body - 'recipient_fullname'
       FROM messages m
       WHERE m.app_id = $1 AND m.conversation_key = $2 AND m.recipient = $3
         AND v.app_id = $1 AND v.message_id = m.message_id AND v.body ? 'recipient_fullname'`,
      [app, key, user],
    );
    const events = await tx.query<{ n: number }>(
      `WITH gone AS (
         DELETE FROM webhook_outbox WHERE app_id = $1 AND ordering_key = $2 AND (
           payload->>'delivered_to' = $3 OR payload->>'recipient_id' = $3
           OR payload->'data'->>'sender' = $3 OR payload->'data'->>'recipient' = $3)
         RETURNING 1)
       SELECT count(*)::int AS n FROM gone`,
      [app, key, user],
    );
    const fixed = await fixConversations(tx, app, [{ conversationKey: key, seq: 0, messageId: null }], true);
    await addCounts(tx, app, user, {
      names_dropped: names.rows[0]?.n ?? 0,
      webhook_events: events.rows[0]?.n ?? 0,
      others_conversations_rewritten: fixed,
    });
  });
}

/** Statements of the last step: each deletes what the user left in one place, and counts it. */
const LAST_STEP: Record<string, string> = {
  conversations: 'DELETE FROM conversations WHERE app_id = $1 AND owner = $2',
  group_memberships: 'DELETE FROM group_members WHERE app_id = $1 AND member_id = $2',
  presence_clients: 'DELETE FROM presence_clients WHERE app_id = $1 AND user_id = $2',
  presence: 'DELETE FROM presence_users WHERE app_id = $1 AND user_id = $2',
  instances: 'DELETE FROM instances WHERE app_id = $1 AND user_id = $2',
  profile: 'DELETE FROM user_profiles WHERE app_id = $1 AND user_id = $2',
  blocks: 'DELETE FROM user_blocks WHERE app_id = $1 AND (blocker = $2 OR blocked = $2)',
  // Their reactions to others' messages, and what they hid for themselves (migration 011).
  reactions: 'DELETE FROM message_reactions WHERE app_id = $1 AND user_id = $2',
  hidden: 'DELETE FROM message_hidden WHERE app_id = $1 AND user_id = $2',
  // Their own conversation events (c/<user>/…) and presence events (p/<user>).
  webhook_events: `DELETE FROM webhook_outbox WHERE app_id = $1
    AND (ordering_key = 'p/' || $2 OR left(ordering_key, length($2) + 3) = 'c/' || $2 || '/')`,
  publications: `DELETE FROM publication_outbox o WHERE app_id = $1 AND EXISTS (
    SELECT 1 FROM jsonb_array_elements(o.publications) p
    WHERE p->'topic'->>'user' = $2 OR p->'payload'->>'sender' = $2 OR p->'payload'->>'recipient' = $2)`,
  dead_letters: `DELETE FROM dead_letters WHERE app_id = $1
    AND (left(topic, length('apps/' || $1 || '/outgoing/users/' || $2 || '/')) = 'apps/' || $1 || '/outgoing/users/' || $2 || '/'
      OR left(topic, length('apps/' || $1 || '/users/' || $2 || '/')) = 'apps/' || $1 || '/users/' || $2 || '/')`,
};

/**
 * The last step, one transaction: the user's own rows everywhere else, and their attachments not
 * sent with any message. Returns the blob keys to remove after the commit.
 */
export async function eraseUserRows(db: SqlDatabase, app: string, user: string): Promise<string[]> {
  return db.transaction(async (tx) => {
    const counts: ErasureCounts = {};
    for (const [kind, statement] of Object.entries(LAST_STEP)) {
      const { rows } = await tx.query<{ n: number }>(
        `WITH gone AS (${statement} RETURNING 1) SELECT count(*)::int AS n FROM gone`,
        [app, user],
      );
      counts[kind] = rows[0]?.n ?? 0;
    }
    const attachments = await tx.query<{ attachmentId: string; hasThumbnail: boolean }>(
      `DELETE FROM attachments WHERE app_id = $1 AND owner = $2
       RETURNING attachment_id AS "attachmentId", has_thumbnail AS "hasThumbnail"`,
      [app, user],
    );
    counts.attachments = attachments.rows.length;
    await addCounts(tx, app, user, counts);
    return blobKeysOf(attachments.rows);
  });
}
