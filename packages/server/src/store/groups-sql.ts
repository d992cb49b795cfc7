import { type GroupRow, toGroup } from './rows.js';
import type { SqlExecutor } from './sql.js';
import type { GroupRecord } from './types.js';

export async function getGroup(db: SqlExecutor, app: string, groupId: string): Promise<GroupRecord | null> {
  const { rows } = await db.query<GroupRow>(
    `SELECT g.app_id, g.group_id, g.name, g.owner, g.attributes, g.volatile, g.created_on, g.updated_on,
       array(SELECT m.member_id FROM group_members m
             WHERE m.app_id = g.app_id AND m.group_id = g.group_id ORDER BY m.joined_on, m.member_id) AS members
     FROM groups g WHERE g.app_id = $1 AND g.group_id = $2`,
    [app, groupId],
    'mercurio_get_group',
  );
  return rows[0] ? toGroup(rows[0]) : null;
}

export async function createGroupIfAbsent(
  tx: SqlExecutor,
  group: GroupRecord,
): Promise<{ group: GroupRecord; created: boolean }> {
  const { rows } = await tx.query(
    `INSERT INTO groups (app_id, group_id, name, owner, attributes, volatile, created_on, updated_on)
     VALUES ($1, $2, $3, $4, $5, $6, $7, $8) ON CONFLICT (app_id, group_id) DO NOTHING RETURNING group_id`,
    [
      group.app,
      group.uid,
      group.name,
      group.owner,
      group.attributes,
      group.volatile,
      group.createdOn,
      group.updatedOn,
    ],
  );
  if (rows.length === 0) return { group: (await getGroup(tx, group.app, group.uid))!, created: false };
  await tx.query(
    `INSERT INTO group_members (app_id, group_id, member_id, joined_on)
     SELECT $1, $2, member, $3 FROM unnest($4::text[]) AS member ON CONFLICT DO NOTHING`,
    [group.app, group.uid, group.createdOn, group.members],
  );
  return { group: (await getGroup(tx, group.app, group.uid))!, created: true };
}
