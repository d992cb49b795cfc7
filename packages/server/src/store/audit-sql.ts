import type { AuditEntry, StoredAuditEntry } from './data-policy-store.js';
import type { SqlExecutor } from './sql.js';

export async function appendAudit(db: SqlExecutor, entry: AuditEntry): Promise<void> {
  await db.query(
    'INSERT INTO audit_log (app_id, actor, action, target, details, at) VALUES ($1, $2, $3, $4, $5::jsonb, $6)',
    [entry.app, entry.actor, entry.action, entry.target, JSON.stringify(entry.details), entry.at],
  );
}

/** Newest first, paged by id. */
export async function listAudit(
  db: SqlExecutor,
  app: string,
  page: { limit: number; before?: string | undefined; action?: string | undefined },
): Promise<StoredAuditEntry[]> {
  const { rows } = await db.query<{
    id: string;
    app_id: string;
    actor: string;
    action: string;
    target: string | null;
    details: Record<string, unknown>;
    at: number;
  }>(
    `SELECT id::text AS id, app_id, actor, action, target, details, at FROM audit_log
     WHERE app_id = $1 AND ($2::bigint IS NULL OR id < $2::bigint) AND ($3::text IS NULL OR action = $3)
     ORDER BY id DESC LIMIT $4`,
    [app, page.before ?? null, page.action ?? null, page.limit],
  );
  return rows.map((row) => ({
    id: row.id,
    app: row.app_id,
    actor: row.actor,
    action: row.action,
    target: row.target,
    details: row.details,
    at: Number(row.at),
  }));
}
