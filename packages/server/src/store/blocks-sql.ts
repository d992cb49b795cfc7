import type { BlockStore } from './block-store.js';
import type { SqlExecutor } from './sql.js';

/** BlockStore on SQL: the user_blocks table and conversations.muted (migration 013). */
export function createBlockStore(db: SqlExecutor): BlockStore {
  return {
    async blockedBetween(app, a, b) {
      const { rows } = await db.query(
        `SELECT 1 FROM user_blocks WHERE app_id = $1
           AND ((blocker = $2 AND blocked = $3) OR (blocker = $3 AND blocked = $2)) LIMIT 1`,
        [app, a, b],
        'mercurio_blocked_between',
      );
      return rows.length > 0;
    },
    async blockedAmong(app, user, others) {
      if (others.length === 0) return [];
      const { rows } = await db.query<{ other: string }>(
        `SELECT blocked AS other FROM user_blocks WHERE app_id = $1 AND blocker = $2 AND blocked = ANY($3::text[])
         UNION SELECT blocker FROM user_blocks WHERE app_id = $1 AND blocked = $2 AND blocker = ANY($3::text[])`,
        [app, user, others],
      );
      return rows.map((row) => row.other);
    },
    async block(app, blocker, blocked, now) {
      const { rows } = await db.query(
        `INSERT INTO user_blocks (app_id, blocker, blocked, created_at) VALUES ($1, $2, $3, $4)
         ON CONFLICT DO NOTHING RETURNING 1`,
        [app, blocker, blocked, now],
      );
      return rows.length > 0;
    },
    async unblock(app, blocker, blocked) {
      const { rows } = await db.query(
        'DELETE FROM user_blocks WHERE app_id = $1 AND blocker = $2 AND blocked = $3 RETURNING 1',
        [app, blocker, blocked],
      );
      return rows.length > 0;
    },
    async listBlocks(app, blocker) {
      const { rows } = await db.query<{ blocked: string; created_at: number }>(
        'SELECT blocked, created_at FROM user_blocks WHERE app_id = $1 AND blocker = $2 ORDER BY created_at, blocked',
        [app, blocker],
      );
      return rows.map((row) => ({ user: row.blocked, since: Number(row.created_at) }));
    },
    async setMuted(app, owner, conversWith, muted) {
      const { rows } = await db.query<{ muted: boolean }>(
        `UPDATE conversations SET muted = $4 WHERE app_id = $1 AND owner = $2 AND convers_with = $3
         RETURNING muted`,
        [app, owner, conversWith, muted],
      );
      return rows[0] ?? null;
    },
  };
}
