import type { Publication } from '../bus/bus.js';
import type { ClaimedPublications, PublicationEntry, PublicationQueue } from './publication-queue.js';
import type { SqlExecutor } from './sql.js';

/** Writes the entries in the caller's transaction, in order (ids follow the array), due at once. */
export async function insertPublications(
  tx: SqlExecutor,
  entries: readonly PublicationEntry[],
  now: number,
): Promise<void> {
  const wanted = entries.filter((entry) => entry.publications.length > 0);
  if (wanted.length === 0) return;
  await tx.query(
    `INSERT INTO publication_outbox (app_id, ordering_key, publications, created_at, next_attempt_at)
     SELECT e.app_id, e.ordering_key, e.publications::jsonb, $4, 0
     FROM unnest($1::text[], $2::text[], $3::text[]) WITH ORDINALITY AS e(app_id, ordering_key, publications, n)
     ORDER BY e.n`,
    [
      wanted.map((entry) => entry.app),
      wanted.map((entry) => entry.orderingKey),
      wanted.map((entry) => JSON.stringify(entry.publications)),
      now,
    ],
  );
}

/**
 * Same mechanism as the webhook outbox (outbox-sql.ts, claimDueDeliveries): the oldest entry of
 * each ordering key that is due and not leased, locked with SKIP LOCKED while the lease is set.
 */
export async function claimPublications(
  db: SqlExecutor,
  app: string | undefined,
  now: number,
  leaseMs: number,
  limit: number,
): Promise<ClaimedPublications[]> {
  const { rows } = await db.query<{ id: number; attempts: number; publications: Publication[] }>(
    `WITH due AS (
       SELECT o.id FROM publication_outbox o
       WHERE o.next_attempt_at <= $1 AND o.claimed_until < $1 AND ($4::text IS NULL OR o.app_id = $4)
         AND NOT EXISTS (
           SELECT 1 FROM publication_outbox p
           WHERE p.app_id = o.app_id AND p.ordering_key = o.ordering_key AND p.id < o.id)
       ORDER BY o.id LIMIT $3 FOR UPDATE SKIP LOCKED)
     UPDATE publication_outbox o SET claimed_until = $1 + $2, attempts = o.attempts + 1
     FROM due WHERE o.id = due.id
     RETURNING o.id, o.attempts, o.publications`,
    [now, leaseMs, limit, app ?? null],
  );
  return rows
    .map((row) => ({ id: Number(row.id), attempts: row.attempts, publications: row.publications }))
    .sort((a, b) => a.id - b.id);
}

export function createPublicationQueue(db: SqlExecutor): PublicationQueue {
  return {
    claimPublications: (app, now, leaseMs, limit) => claimPublications(db, app, now, leaseMs, limit),
    async completePublications(id) {
      await db.query('DELETE FROM publication_outbox WHERE id = $1', [id]);
    },
    async retryPublications(id, error, retryAt) {
      await db.query(
        `UPDATE publication_outbox SET claimed_until = 0, next_attempt_at = $3, last_error = $2
         WHERE id = $1`,
        [id, error.slice(0, 500), retryAt],
      );
    },
    async pendingPublications(app) {
      const { rows } = await db.query<{ n: number }>(
        'SELECT count(*)::int AS n FROM publication_outbox WHERE app_id = $1',
        [app],
      );
      return rows[0]?.n ?? 0;
    },
  };
}
