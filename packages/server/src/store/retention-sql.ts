import type { HoldKind, LegalHold, RetentionPolicy, RetentionScope } from './data-policy-store.js';
import type { SqlExecutor } from './sql.js';

const keyOf = (scope: RetentionScope) => (scope.scope === 'conversation' ? scope.conversationKey : '');

export async function setRetention(
  db: SqlExecutor,
  app: string,
  scope: RetentionScope,
  keepDays: number | null,
  now: number,
): Promise<void> {
  await db.query(
    `INSERT INTO retention_policies (app_id, scope, conversation_key, keep_days, updated_at)
     VALUES ($1, $2, $3, $4, $5)
     ON CONFLICT (app_id, scope, conversation_key) DO UPDATE SET keep_days = EXCLUDED.keep_days,
       updated_at = EXCLUDED.updated_at`,
    [app, scope.scope, keyOf(scope), keepDays, now],
  );
}

/** Removes a policy row, so the scope inherits again; false when there was none. */
export async function clearRetention(db: SqlExecutor, app: string, scope: RetentionScope): Promise<boolean> {
  const { rows } = await db.query(
    'DELETE FROM retention_policies WHERE app_id = $1 AND scope = $2 AND conversation_key = $3 RETURNING 1',
    [app, scope.scope, keyOf(scope)],
  );
  return rows.length > 0;
}

export async function listRetention(db: SqlExecutor, app: string): Promise<RetentionPolicy[]> {
  const { rows } = await db.query<{
    scope: RetentionPolicy['scope'];
    conversation_key: string;
    keep_days: number | null;
    updated_at: number;
  }>(
    `SELECT scope, conversation_key, keep_days, updated_at FROM retention_policies WHERE app_id = $1
     ORDER BY CASE scope WHEN 'app' THEN 0 WHEN 'direct' THEN 1 WHEN 'group' THEN 2 ELSE 3 END, conversation_key`,
    [app],
  );
  return rows.map((row) => ({
    scope: row.scope,
    conversationKey: row.conversation_key === '' ? null : row.conversation_key,
    keepDays: row.keep_days === null ? null : Number(row.keep_days),
    updatedAt: Number(row.updated_at),
  }));
}

export async function setHold(
  db: SqlExecutor,
  app: string,
  kind: HoldKind,
  target: string,
  reason: string | null,
  now: number,
): Promise<void> {
  await db.query(
    `INSERT INTO legal_holds (app_id, kind, target, reason, created_at) VALUES ($1, $2, $3, $4, $5)
     ON CONFLICT (app_id, kind, target) DO UPDATE SET reason = EXCLUDED.reason`,
    [app, kind, target, reason, now],
  );
}

export async function releaseHold(
  db: SqlExecutor,
  app: string,
  kind: HoldKind,
  target: string,
): Promise<boolean> {
  const { rows } = await db.query(
    'DELETE FROM legal_holds WHERE app_id = $1 AND kind = $2 AND target = $3 RETURNING 1',
    [app, kind, target],
  );
  return rows.length > 0;
}

export async function listHolds(db: SqlExecutor, app: string): Promise<LegalHold[]> {
  const { rows } = await db.query<{
    kind: HoldKind;
    target: string;
    reason: string | null;
    created_at: number;
  }>('SELECT kind, target, reason, created_at FROM legal_holds WHERE app_id = $1 ORDER BY kind, target', [
    app,
  ]);
  return rows.map((row) => ({
    kind: row.kind,
    target: row.target,
    reason: row.reason,
    createdAt: Number(row.created_at),
  }));
}
