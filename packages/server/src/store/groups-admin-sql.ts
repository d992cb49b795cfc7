import type { GroupMembersChange, GroupPatch } from './api-store.js';
import { getGroup } from './groups-sql.js';
import type { SqlExecutor } from './sql.js';
import { conversationKey } from './types.js';

/**
 * Adds and removes members in one transaction, under the group row's lock. A member who leaves
 * keeps the conversation up to its current last message (visible_until_seq); one who (re)joins
 * sees it all again — they are sent the newest history anyway.
 */
export async function changeGroupMembers(
  tx: SqlExecutor,
  app: string,
  groupId: string,
  change: { add: readonly string[]; remove: readonly string[] },
  at: number,
): Promise<GroupMembersChange | null> {
  const { rows: locked } = await tx.query(
    'SELECT group_id FROM groups WHERE app_id = $1 AND group_id = $2 FOR UPDATE',
    [app, groupId],
  );
  if (locked.length === 0) return null;
  const key = conversationKey('group', groupId);
  const { rows: removed } = await tx.query<{ member_id: string }>(
    `DELETE FROM group_members WHERE app_id = $1 AND group_id = $2 AND member_id = ANY($3::text[])
     RETURNING member_id`,
    [app, groupId, change.remove],
  );
  const removedIds = removed.map((row) => row.member_id);
  if (removedIds.length > 0) {
    await tx.query(
      `UPDATE conversations c SET visible_until_seq = coalesce(
         (SELECT h.last_seq FROM conversation_heads h WHERE h.app_id = c.app_id AND h.conversation_key = c.conversation_key), 0)
       WHERE c.app_id = $1 AND c.conversation_key = $2 AND c.owner = ANY($3::text[])`,
      [app, key, removedIds],
    );
  }
  const { rows: added } = await tx.query<{ member_id: string }>(
    `INSERT INTO group_members (app_id, group_id, member_id, joined_on)
     SELECT $1, $2, member, $4 FROM unnest($3::text[]) AS member
     ON CONFLICT DO NOTHING RETURNING member_id`,
    [app, groupId, change.add, at],
  );
  const addedIds = added.map((row) => row.member_id);
  if (addedIds.length > 0) {
    await tx.query(
      `UPDATE conversations SET visible_until_seq = NULL
       WHERE app_id = $1 AND conversation_key = $2 AND owner = ANY($3::text[])`,
      [app, key, addedIds],
    );
  }
  await tx.query('UPDATE groups SET updated_on = $3 WHERE app_id = $1 AND group_id = $2', [app, groupId, at]);
  return { group: (await getGroup(tx, app, groupId))!, added: addedIds, removed: removedIds };
}

export async function updateGroup(
  tx: SqlExecutor,
  app: string,
  groupId: string,
  patch: GroupPatch,
  at: number,
) {
  const { rows } = await tx.query(
    `UPDATE groups SET name = coalesce($3::text, name),
       attributes = CASE WHEN $4::boolean THEN $5::jsonb ELSE attributes END, updated_on = $6
     WHERE app_id = $1 AND group_id = $2 RETURNING group_id`,
    [app, groupId, patch.name ?? null, patch.attributes !== undefined, patch.attributes ?? null, at],
  );
  return rows.length === 0 ? null : getGroup(tx, app, groupId);
}

/** Every user's conversation row of the group (Chat21's conversations timeline delete). */
export async function deleteGroupConversations(
  db: SqlExecutor,
  app: string,
  groupId: string,
): Promise<number> {
  const { rows } = await db.query(
    'DELETE FROM conversations WHERE app_id = $1 AND conversation_key = $2 RETURNING owner',
    [app, conversationKey('group', groupId)],
  );
  return rows.length;
}

/** The group's stored messages; the sequence head stays, so numbers are never reused. */
export async function deleteGroupMessages(db: SqlExecutor, app: string, groupId: string): Promise<number> {
  const { rows } = await db.query(
    'DELETE FROM messages WHERE app_id = $1 AND conversation_key = $2 RETURNING seq',
    [app, conversationKey('group', groupId)],
  );
  return rows.length;
}
