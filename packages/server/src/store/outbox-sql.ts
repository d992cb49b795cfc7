import type { SqlExecutor } from './sql.js';
import type { OutboxEntry } from './types.js';
import type { ClaimedDelivery } from './webhook-queue.js';

/** Writes events and their deliveries in the caller's transaction: three statements, however many. */
export async function insertOutbox(
  tx: SqlExecutor,
  entries: readonly OutboxEntry[],
  now: number,
): Promise<void> {
  const wanted = entries.filter((entry) => entry.endpoints.length > 0);
  if (wanted.length === 0) return;
  const { rows } = await tx.query<{ id: number }>(
    "SELECT nextval('webhook_outbox_id_seq')::bigint AS id FROM generate_series(1, $1)",
    [wanted.length],
  );
  const ids = rows.map((row) => Number(row.id));
  await tx.query(
    `INSERT INTO webhook_outbox (id, app_id, event_type, ordering_key, payload, created_at)
     SELECT e.id, e.app_id, e.event_type, e.ordering_key, e.payload::jsonb, $6
     FROM unnest($1::bigint[], $2::text[], $3::text[], $4::text[], $5::text[])
       AS e(id, app_id, event_type, ordering_key, payload)`,
    [
      ids,
      wanted.map((e) => e.app),
      wanted.map((e) => e.type),
      wanted.map((e) => e.orderingKey),
      wanted.map((e) => JSON.stringify(e.payload)),
      now,
    ],
  );
  const pairs = wanted.flatMap((entry, i) =>
    entry.endpoints.map((endpoint) => ({ id: ids[i]!, endpoint, entry })),
  );
  await tx.query(
    `INSERT INTO webhook_deliveries (outbox_id, endpoint, app_id, ordering_key, next_attempt_at)
     SELECT d.outbox_id, d.endpoint, d.app_id, d.ordering_key, $5::bigint
     FROM unnest($1::bigint[], $2::text[], $3::text[], $4::text[]) AS d(outbox_id, endpoint, app_id, ordering_key)`,
    [
      pairs.map((p) => p.id),
      pairs.map((p) => p.endpoint),
      pairs.map((p) => p.entry.app),
      pairs.map((p) => p.entry.orderingKey),
      now,
    ],
  );
}

/**
 * Leases the deliveries that are due, at most one per (endpoint, conversation): the oldest
 * pending one, so a conversation's events go out in order and a failing one holds back only its
 * own conversation. The lease lets several workers share the table without double sends.
 */
export async function claimDueDeliveries(
  db: SqlExecutor,
  endpoints: readonly string[],
  now: number,
  leaseMs: number,
  limit: number,
): Promise<ClaimedDelivery[]> {
  const { rows } = await db.query<{
    outbox_id: number;
    endpoint: string;
    attempts: number;
    event_type: string;
    payload: Record<string, unknown>;
  }>(
    `WITH due AS (
       SELECT d.outbox_id, d.endpoint FROM webhook_deliveries d
       WHERE d.status = 'pending' AND d.endpoint = ANY($1::text[])
         AND d.next_attempt_at <= $2 AND d.claimed_until < $2
         AND NOT EXISTS (
           SELECT 1 FROM webhook_deliveries p
           WHERE p.endpoint = d.endpoint AND p.app_id = d.app_id AND p.ordering_key = d.ordering_key
             AND p.status = 'pending' AND p.outbox_id < d.outbox_id)
       ORDER BY d.outbox_id LIMIT $4 FOR UPDATE SKIP LOCKED)
     UPDATE webhook_deliveries d SET claimed_until = $2 + $3, attempts = d.attempts + 1
     FROM due, webhook_outbox o
     WHERE d.outbox_id = due.outbox_id AND d.endpoint = due.endpoint AND o.id = d.outbox_id
     RETURNING d.outbox_id, d.endpoint, d.attempts, o.event_type, o.payload`,
    [endpoints, now, leaseMs, limit],
  );
  return rows.map((row) => ({
    outboxId: Number(row.outbox_id),
    endpoint: row.endpoint,
    attempts: row.attempts,
    type: row.event_type,
    payload: row.payload,
  }));
}

export async function markDelivered(db: SqlExecutor, delivery: ClaimedDelivery, now: number): Promise<void> {
  await db.query(
    `UPDATE webhook_deliveries SET status = 'delivered', delivered_at = $3, last_error = NULL
     WHERE outbox_id = $1 AND endpoint = $2`,
    [delivery.outboxId, delivery.endpoint, now],
  );
}

/** Schedules another attempt at `retryAt`, or dead-letters the delivery when `retryAt` is null. */
export async function markFailed(
  db: SqlExecutor,
  delivery: ClaimedDelivery,
  error: string,
  retryAt: number | null,
): Promise<void> {
  await db.query(
    `UPDATE webhook_deliveries SET last_error = $3, claimed_until = 0,
       status = CASE WHEN $4::bigint IS NULL THEN 'dead' ELSE 'pending' END,
       next_attempt_at = COALESCE($4::bigint, next_attempt_at)
     WHERE outbox_id = $1 AND endpoint = $2`,
    [delivery.outboxId, delivery.endpoint, error.slice(0, 500), retryAt],
  );
}

export async function countDeliveries(
  db: SqlExecutor,
  app: string,
): Promise<Record<'pending' | 'delivered' | 'dead', number>> {
  const { rows } = await db.query<{ status: 'pending' | 'delivered' | 'dead'; n: number }>(
    'SELECT status, count(*)::int AS n FROM webhook_deliveries WHERE app_id = $1 GROUP BY status',
    [app],
  );
  const counts = { pending: 0, delivered: 0, dead: 0 };
  for (const row of rows) counts[row.status] = row.n;
  return counts;
}
