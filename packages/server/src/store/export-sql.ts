import type { ExportRecord } from './data-policy-store.js';
import type { SqlExecutor } from './sql.js';

/** Rows read per query: the export holds one page in memory, never the whole history. */
const PAGE = 500;

/**
 * Everything the store holds of a user, page by page (keyset paging, no transaction held open):
 * their profile, conversations, groups, every message they sent, their attachments (the list,
 * not the bytes), then a closing line with the counts, so that a reader knows the export is whole.
 */
export async function* exportUser(
  db: SqlExecutor,
  app: string,
  user: string,
  now: number,
): AsyncGenerator<ExportRecord> {
  const counts: Record<string, number> = {
    conversation: 0,
    group: 0,
    message: 0,
    message_version: 0,
    reaction: 0,
    attachment: 0,
  };
  const profile = await db.query<Record<string, unknown>>(
    'SELECT fullname, firstname, lastname, updated_at FROM user_profiles WHERE app_id = $1 AND user_id = $2',
    [app, user],
  );
  yield { kind: 'user', app, user_id: user, profile: profile.rows[0] ?? null, exported_at: now };

  let after = '';
  for (;;) {
    const { rows } = await db.query<Record<string, unknown> & { convers_with: string }>(
      `SELECT convers_with, conversation_key, channel_type, last_seq, read_seq, unread_count, archived, muted,
         visible_until_seq, updated_at, last_message
       FROM conversations WHERE app_id = $1 AND owner = $2 AND convers_with > $3 ORDER BY convers_with LIMIT $4`,
      [app, user, after, PAGE],
    );
    for (const row of rows) yield { kind: 'conversation', ...row };
    counts.conversation! += rows.length;
    if (rows.length < PAGE) break;
    after = rows[rows.length - 1]!.convers_with;
  }

  const groups = await db.query<Record<string, unknown>>(
    `SELECT g.group_id, g.name, g.owner, g.attributes, g.created_on, g.updated_on, m.joined_on,
       (g.owner = $2) AS is_owner
     FROM groups g LEFT JOIN group_members m ON m.app_id = g.app_id AND m.group_id = g.group_id AND m.member_id = $2
     WHERE g.app_id = $1 AND (m.member_id IS NOT NULL OR g.owner = $2) ORDER BY g.group_id`,
    [app, user],
  );
  for (const row of groups.rows) yield { kind: 'group', ...row };
  counts.group = groups.rows.length;

  // Messages they sent, conversation by conversation (the primary key's order).
  const keys = await db.query<{ key: string }>(
    `SELECT conversation_key AS key FROM conversations WHERE app_id = $1 AND owner = $2
     UNION SELECT 'g/' || group_id FROM group_members WHERE app_id = $1 AND member_id = $2 ORDER BY 1`,
    [app, user],
  );
  for (const { key } of keys.rows) {
    let seq = 0;
    for (;;) {
      const { rows } = await db.query<Record<string, unknown> & { seq: number }>(
        `SELECT message_id, conversation_key, seq, recipient, channel_type, created_at, body
         FROM messages WHERE app_id = $1 AND conversation_key = $2 AND seq > $3 AND sender = $4
         ORDER BY seq LIMIT $5`,
        [app, key, seq, user, PAGE],
      );
      for (const row of rows) yield { kind: 'message', ...row };
      counts.message! += rows.length;
      // What they said before they edited or deleted it (migration 011).
      const versions = await db.query<Record<string, unknown>>(
        `SELECT message_id, version, body, replaced_at, change FROM message_versions
         WHERE app_id = $1 AND message_id = ANY($2::text[]) ORDER BY message_id, version`,
        [app, rows.map((row) => row.message_id)],
      );
      for (const row of versions.rows) yield { kind: 'message_version', ...row };
      counts.message_version! += versions.rows.length;
      if (rows.length < PAGE) break;
      seq = Number(rows[rows.length - 1]!.seq);
    }
  }

  const reactions = await db.query<Record<string, unknown>>(
    `SELECT message_id, reaction, created_at FROM message_reactions WHERE app_id = $1 AND user_id = $2
     ORDER BY created_at, message_id, reaction`,
    [app, user],
  );
  for (const row of reactions.rows) yield { kind: 'reaction', ...row };
  counts.reaction = reactions.rows.length;

  const attachments = await db.query<Record<string, unknown>>(
    `SELECT attachment_id, conversation_key, name, content_type, size_bytes, width, height, message_id,
       created_at, sent_at
     FROM attachments WHERE app_id = $1 AND owner = $2 ORDER BY created_at, attachment_id`,
    [app, user],
  );
  for (const row of attachments.rows) yield { kind: 'attachment', ...row };
  counts.attachment = attachments.rows.length;
  yield { kind: 'end', counts };
}
