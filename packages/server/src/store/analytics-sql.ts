import type { AppAnalytics } from './data-policy-store.js';
import type { SqlExecutor } from './sql.js';

const DAY_MS = 86_400_000;

const dayOf = (epochDay: number) => new Date(epochDay * DAY_MS).toISOString().slice(0, 10);

/**
 * Four queries over the app's messages in the range, each on the (app_id, created_at) index. What
 * a purge or an erasure removed is not counted: the numbers are of what the store holds.
 */
export async function appAnalytics(
  db: SqlExecutor,
  app: string,
  from: number,
  to: number,
): Promise<AppAnalytics> {
  const perDay = await db.query<{ day: number; direct: number; grp: number; users: number }>(
    `SELECT (created_at / ${DAY_MS})::int AS day,
       count(*) FILTER (WHERE channel_type = 'direct')::int AS direct,
       count(*) FILTER (WHERE channel_type = 'group')::int AS grp,
       count(DISTINCT sender)::int AS users
     FROM messages WHERE app_id = $1 AND created_at >= $2 AND created_at < $3
     GROUP BY 1 ORDER BY 1`,
    [app, from, to],
  );
  const active = await db.query<{ users: number }>(
    'SELECT count(DISTINCT sender)::int AS users FROM messages WHERE app_id = $1 AND created_at >= $2 AND created_at < $3',
    [app, from, to],
  );
  const opened = await db.query<{ direct: number; grp: number }>(
    `SELECT count(*) FILTER (WHERE channel_type = 'direct')::int AS direct,
       count(*) FILTER (WHERE channel_type = 'group')::int AS grp
     FROM messages WHERE app_id = $1 AND created_at >= $2 AND created_at < $3 AND seq = 1`,
    [app, from, to],
  );
  const response = await db.query<{
    opened: number;
    answered: number;
    median: number | null;
    p90: number | null;
  }>(
    `WITH firsts AS (
       SELECT conversation_key, sender, created_at FROM messages
       WHERE app_id = $1 AND created_at >= $2 AND created_at < $3 AND seq = 1
         AND channel_type = 'direct' AND sender <> recipient
     ), waits AS (
       SELECT (SELECT min(m.created_at) FROM messages m
               WHERE m.app_id = $1 AND m.conversation_key = f.conversation_key AND m.sender <> f.sender)
              - f.created_at AS ms
       FROM firsts f
     )
     SELECT count(*)::int AS opened, count(ms)::int AS answered,
       percentile_cont(0.5) WITHIN GROUP (ORDER BY ms) AS median,
       percentile_cont(0.9) WITHIN GROUP (ORDER BY ms) AS p90
     FROM waits`,
    [app, from, to],
  );
  const r = response.rows[0]!;
  return {
    from,
    to,
    messagesPerDay: perDay.rows.map((row) => ({ day: dayOf(row.day), direct: row.direct, group: row.grp })),
    activeUsersPerDay: perDay.rows.map((row) => ({ day: dayOf(row.day), users: row.users })),
    activeUsers: active.rows[0]?.users ?? 0,
    conversationsOpened: { direct: opened.rows[0]?.direct ?? 0, group: opened.rows[0]?.grp ?? 0 },
    firstResponse: {
      opened: r.opened,
      answered: r.answered,
      medianMs: r.median === null ? null : Math.round(Number(r.median)),
      p90Ms: r.p90 === null ? null : Math.round(Number(r.p90)),
    },
  };
}
