import type { PurgeBatch, PurgeCursor } from './data-policy-store.js';
import type { SqlDatabase, SqlExecutor } from './sql.js';

const DAY_MS = 86_400_000;

/**
 * The oldest moment any policy of the app lets go of: rows newer than it are never looked at.
 * Undefined when every policy says "forever" (or there is none).
 */
export async function loosestCutoff(db: SqlExecutor, app: string, now: number): Promise<number | undefined> {
  const { rows } = await db.query<{ days: number | null }>(
    'SELECT min(keep_days) AS days FROM retention_policies WHERE app_id = $1 AND keep_days IS NOT NULL',
    [app],
  );
  const days = rows[0]?.days;
  return days == null ? undefined : now - Number(days) * DAY_MS;
}

/** Apps with at least one policy that lets messages go. */
export async function appsWithRetention(db: SqlExecutor): Promise<string[]> {
  const { rows } = await db.query<{ app_id: string }>(
    'SELECT DISTINCT app_id FROM retention_policies WHERE keep_days IS NOT NULL ORDER BY app_id',
  );
  return rows.map((row) => row.app_id);
}

/**
 * One batch: looks at the next `limit` messages older than `cutoff` in (created_at, conversation,
 * seq) order after `cursor`, keeps those whose own policy (conversation > kind > app) has expired
 * and that no legal hold covers, and deletes those not locked by someone else (SKIP LOCKED: a row
 * being edited is left for the next run). The purge of one app runs in one process at a time (an
 * advisory lock); a busy app is skipped, not waited for.
 */
const PURGE_BATCH = `
WITH scanned AS (
  SELECT m.conversation_key, m.seq, m.created_at, m.channel_type, m.sender, m.recipient
  FROM messages m
  -- The plain bound on created_at starts the index range at the cursor: the row comparison alone
  -- is only a filter, and each batch would walk again over every entry before it.
  WHERE m.app_id = $1 AND m.created_at < $2 AND m.created_at >= $3::bigint
    AND (m.created_at, m.conversation_key, m.seq) > ($3::bigint, $4::text, $5::bigint)
  ORDER BY m.created_at, m.conversation_key, m.seq
  LIMIT $6
), eligible AS (
  SELECT s.conversation_key, s.seq
  FROM scanned s
  CROSS JOIN LATERAL (
    SELECT p.keep_days FROM retention_policies p
    WHERE p.app_id = $1 AND (
      (p.scope = 'conversation' AND p.conversation_key = s.conversation_key)
      OR (p.scope = s.channel_type AND p.conversation_key = '')
      OR (p.scope = 'app' AND p.conversation_key = ''))
    ORDER BY CASE p.scope WHEN 'conversation' THEN 0 WHEN 'app' THEN 2 ELSE 1 END
    LIMIT 1
  ) policy
  WHERE policy.keep_days IS NOT NULL
    AND s.created_at < $7::bigint - policy.keep_days::bigint * ${DAY_MS}
    AND NOT EXISTS (
      SELECT 1 FROM legal_holds h
      WHERE h.app_id = $1 AND (
        (h.kind = 'conversation' AND h.target = s.conversation_key)
        OR (h.kind = 'user' AND (h.target = s.sender OR (s.channel_type = 'direct' AND h.target = s.recipient)))))
), locked AS (
  SELECT m.conversation_key, m.seq, m.message_id FROM messages m
  WHERE m.app_id = $1 AND (m.conversation_key, m.seq) IN (SELECT conversation_key, seq FROM eligible)
  ORDER BY m.conversation_key, m.seq
  FOR UPDATE SKIP LOCKED
)
SELECT
  (SELECT count(*) FROM scanned)::int AS scanned,
  (SELECT row_to_json(t) FROM (
     SELECT created_at, conversation_key, seq FROM scanned
     ORDER BY created_at DESC, conversation_key DESC, seq DESC LIMIT 1) t) AS last,
  (SELECT coalesce(json_agg(json_build_object('k', conversation_key, 's', seq, 'id', message_id)), '[]'::json)
     FROM locked) AS deleted`;

/**
 * The locked rows, deleted by primary key: a statement of its own, so that the planner sees an
 * array (a nested loop on the key), not a CTE it would hash-join against every row of the app.
 */
const DELETE_LOCKED = `
DELETE FROM messages m USING unnest($2::text[], $3::bigint[]) AS d(conversation_key, seq)
WHERE m.app_id = $1 AND m.conversation_key = d.conversation_key AND m.seq = d.seq`;

/** The attachments of deleted messages: their rows, and the keys of their blobs. */
const PURGE_ATTACHMENTS = `
DELETE FROM attachments WHERE app_id = $1 AND message_id = ANY($2::text[])
RETURNING attachment_id AS "attachmentId", has_thumbnail AS "hasThumbnail"`;

/**
 * What hangs off deleted messages by id (migration 011): their earlier versions, reactions and
 * delete-for-me rows. Returns how many rows went.
 */
export async function deleteMessageDependents(
  tx: SqlExecutor,
  app: string,
  messageIds: readonly string[],
): Promise<number> {
  const { rows } = await tx.query<{ n: number }>(
    `WITH v AS (DELETE FROM message_versions WHERE app_id = $1 AND message_id = ANY($2::text[]) RETURNING 1),
       r AS (DELETE FROM message_reactions WHERE app_id = $1 AND message_id = ANY($2::text[]) RETURNING 1),
       h AS (DELETE FROM message_hidden WHERE app_id = $1 AND message_id = ANY($2::text[]) RETURNING 1)
     SELECT ((SELECT count(*) FROM v) + (SELECT count(*) FROM r) + (SELECT count(*) FROM h))::int AS n`,
    [app, messageIds],
  );
  return rows[0]?.n ?? 0;
}

/** The webhook events of deleted messages: found by their conversation (ordering key) and id. */
const PURGE_OUTBOX = `
WITH gone AS (
  DELETE FROM webhook_outbox o
  WHERE o.app_id = $1 AND o.ordering_key = ANY($2::text[]) AND o.payload->>'message_id' = ANY($3::text[])
  RETURNING 1
)
SELECT count(*)::int AS n FROM gone`;

/**
 * Conversation rows of the touched conversations, made true again: the last message is the newest
 * one still stored that the owner may see, the unread count no more than what is left unread.
 * A conversation with nothing left keeps its row (its group membership, its read position) with
 * no last message.
 */
const FIX_CONVERSATIONS = `
WITH purged AS (
  SELECT k, max(s) AS max_seq FROM unnest($2::text[], $4::bigint[]) AS p(k, s) GROUP BY k
), target AS (
  -- Only rows a purge may make untrue are locked: their last message went, or they count unread
  -- messages (the counter is bumped per message and re-derived when read, so it may count any of
  -- the purged ones). A conversation read to the end whose old messages go is left alone: its rows
  -- are live rows, which the router updates with every message.
  SELECT c.owner, c.convers_with FROM conversations c JOIN purged p ON p.k = c.conversation_key
  WHERE c.app_id = $1
    AND ($3::boolean OR (c.last_message->>'message_id') = ANY($5::text[]) OR c.unread_count > 0)
  ORDER BY c.owner, c.convers_with
  FOR UPDATE
), fixed AS (
  SELECT c.owner, c.convers_with,
    (SELECT m.body FROM messages m
     WHERE m.app_id = c.app_id AND m.conversation_key = c.conversation_key
       AND m.seq <= coalesce(c.visible_until_seq, c.last_seq)
     ORDER BY m.seq DESC LIMIT 1) AS last_message,
    (SELECT count(*) FROM (
       SELECT 1 FROM messages m
       WHERE m.app_id = c.app_id AND m.conversation_key = c.conversation_key
         AND m.seq > c.read_seq AND m.seq <= coalesce(c.visible_until_seq, c.last_seq) AND m.sender <> c.owner
       LIMIT c.unread_count) u)::int AS unread
  FROM conversations c JOIN target t ON c.owner = t.owner AND c.convers_with = t.convers_with
  WHERE c.app_id = $1
), updated AS (
  UPDATE conversations c SET last_message = f.last_message, unread_count = LEAST(c.unread_count, f.unread)
  FROM fixed f
  WHERE c.app_id = $1 AND c.owner = f.owner AND c.convers_with = f.convers_with
    AND ($3::boolean OR c.last_message IS DISTINCT FROM f.last_message OR c.unread_count > f.unread)
  RETURNING 1
)
SELECT count(*)::int AS n FROM updated`;

/**
 * Brings conversation rows back in line with the stored messages after `removed` messages went:
 * those whose last message was one of them, or that counted one of them unread. `always` (an
 * erasure) rewrites every row of the conversations named, even when it compares equal (jsonb
 * equality is not byte equality, and the row must hold the stored form). Returns the rows changed.
 */
export async function fixConversations(
  tx: SqlExecutor,
  app: string,
  removed: readonly { conversationKey: string; seq: number; messageId: string | null }[],
  always: boolean,
): Promise<number> {
  const { rows } = await tx.query<{ n: number }>(FIX_CONVERSATIONS, [
    app,
    removed.map((r) => r.conversationKey),
    always,
    removed.map((r) => r.seq),
    removed.flatMap((r) => (r.messageId === null ? [] : [r.messageId])),
  ]);
  return rows[0]?.n ?? 0;
}

export async function purgeBatch(
  db: SqlDatabase,
  app: string,
  now: number,
  cutoff: number,
  cursor: PurgeCursor | undefined,
  limit: number,
): Promise<PurgeBatch> {
  return db.transaction(async (tx) => {
    const lock = await tx.query<{ ok: boolean }>(
      "SELECT pg_try_advisory_xact_lock(hashtext('mercurio-purge'), hashtext($1)) AS ok",
      [app],
    );
    if (!lock.rows[0]?.ok)
      return {
        scanned: 0,
        deleted: [],
        outboxRows: 0,
        dependents: 0,
        blobKeys: [],
        conversationsFixed: 0,
        cursor,
        busy: true,
      };
    const { rows } = await tx.query<{
      scanned: number;
      last: { created_at: number; conversation_key: string; seq: number } | null;
      deleted: { k: string; s: number; id: string }[];
    }>(PURGE_BATCH, [
      app,
      cutoff,
      cursor?.createdAt ?? -1,
      cursor?.conversationKey ?? '',
      cursor?.seq ?? -1,
      limit,
      now,
    ]);
    const row = rows[0]!;
    const deleted = row.deleted.map((d) => ({ conversationKey: d.k, messageId: d.id }));
    if (deleted.length > 0)
      await tx.query(DELETE_LOCKED, [app, row.deleted.map((d) => d.k), row.deleted.map((d) => Number(d.s))]);
    let outboxRows = 0;
    let conversationsFixed = 0;
    let blobKeys: string[] = [];
    let dependents = 0;
    if (deleted.length > 0) {
      const keys = [...new Set(deleted.map((d) => d.conversationKey))];
      const outbox = await tx.query<{ n: number }>(PURGE_OUTBOX, [
        app,
        keys,
        deleted.map((d) => d.messageId),
      ]);
      outboxRows = outbox.rows[0]?.n ?? 0;
      dependents = await deleteMessageDependents(
        tx,
        app,
        deleted.map((d) => d.messageId),
      );
      const attachments = await tx.query<{ attachmentId: string; hasThumbnail: boolean }>(PURGE_ATTACHMENTS, [
        app,
        deleted.map((d) => d.messageId),
      ]);
      blobKeys = blobKeysOf(attachments.rows);
      conversationsFixed = await fixConversations(
        tx,
        app,
        row.deleted.map((d) => ({ conversationKey: d.k, seq: Number(d.s), messageId: d.id })),
        false,
      );
    }
    const last = row.last
      ? {
          createdAt: Number(row.last.created_at),
          conversationKey: row.last.conversation_key,
          seq: Number(row.last.seq),
        }
      : cursor;
    return {
      scanned: row.scanned,
      deleted,
      outboxRows,
      dependents,
      blobKeys,
      conversationsFixed,
      cursor: last,
      busy: false,
    };
  });
}

/** A deleted attachment row's blob keys: the file, and its thumbnail when it has one. */
export function blobKeysOf(rows: readonly { attachmentId: string; hasThumbnail: boolean }[]): string[] {
  return rows.flatMap((row) =>
    row.hasThumbnail ? [row.attachmentId, `${row.attachmentId}.thumb`] : [row.attachmentId],
  );
}
