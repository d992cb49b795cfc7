import type { PresenceStatus } from '@mercurio/protocol';
import { insertOutbox } from './outbox-sql.js';
import type { SqlExecutor } from './sql.js';
import type { OutboxEntry, PresenceChange, UserPresence } from './types.js';

/** A user is online while any of their clients is connected. */
export async function setPresence(
  tx: SqlExecutor,
  app: string,
  user: string,
  clientId: string,
  online: boolean,
  at: number,
  outbox?: (change: PresenceChange) => OutboxEntry[],
): Promise<PresenceChange> {
  // Lock the user's row first so two clients of one user cannot interleave.
  await tx.query(
    `INSERT INTO presence_users (app_id, user_id, status, last_online, updated_at) VALUES ($1, $2, 'offline', NULL, $3)
     ON CONFLICT (app_id, user_id) DO NOTHING`,
    [app, user, at],
  );
  const { rows: before } = await tx.query<{ status: PresenceStatus }>(
    'SELECT status FROM presence_users WHERE app_id = $1 AND user_id = $2 FOR UPDATE',
    [app, user],
  );
  if (online) {
    await tx.query(
      `INSERT INTO presence_clients (app_id, user_id, client_id, connected_at) VALUES ($1, $2, $3, $4)
       ON CONFLICT (app_id, user_id, client_id) DO UPDATE SET connected_at = EXCLUDED.connected_at`,
      [app, user, clientId, at],
    );
  } else {
    await tx.query('DELETE FROM presence_clients WHERE app_id = $1 AND user_id = $2 AND client_id = $3', [
      app,
      user,
      clientId,
    ]);
  }
  const { rows: after } = await tx.query<{ status: PresenceStatus }>(
    `UPDATE presence_users u SET
       status = CASE WHEN EXISTS (SELECT 1 FROM presence_clients c WHERE c.app_id = u.app_id AND c.user_id = u.user_id)
                THEN 'online' ELSE 'offline' END,
       last_online = CASE WHEN u.status = 'online' OR $3 THEN $4 ELSE u.last_online END,
       updated_at = $4
     WHERE app_id = $1 AND user_id = $2 RETURNING status`,
    [app, user, online, at],
  );
  const change = { before: before[0]!.status, after: after[0]!.status };
  if (outbox) await insertOutbox(tx, outbox(change), at);
  return change;
}

export async function getPresence(
  db: SqlExecutor,
  app: string,
  users: readonly string[],
): Promise<UserPresence[]> {
  const { rows } = await db.query<{
    user_id: string;
    status: PresenceStatus | null;
    last_online: number | null;
  }>(
    `SELECT u.user_id, p.status, p.last_online FROM unnest($2::text[]) AS u(user_id)
     LEFT JOIN presence_users p ON p.app_id = $1 AND p.user_id = u.user_id`,
    [app, users],
  );
  return rows.map((row) => ({
    user: row.user_id,
    status: row.status ?? 'offline',
    lastOnline: row.last_online === null ? null : Number(row.last_online),
  }));
}
