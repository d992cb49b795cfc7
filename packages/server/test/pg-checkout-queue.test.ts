import { describe, expect, it } from 'vitest';
import { createPgDatabase, POSTGRES_TIMEOUT_DEFAULTS } from '../src/store/pg-database.js';
import { isStoreUnavailable } from '../src/store/store-unavailable.js';
import { services } from './support/services.js';

/**
 * More callers than pool connections (the router has prefetch × shards messages in flight) must
 * queue, not be told the database is out of reach: that paused the router under load.
 */
describe('PostgreSQL checkout queue', () => {
  it('a burst ten times deeper than the pool waits its turn instead of failing as unavailable', async () => {
    // Each statement takes 50 ms: the last of 40 on 2 connections waits ~1 s, five times the
    // connection timeout (pg-pool's own wait is bounded by that timeout).
    const db = createPgDatabase(services().pgUrl, 2, { ...POSTGRES_TIMEOUT_DEFAULTS, connectTimeoutMs: 200 });
    try {
      const results = await Promise.allSettled(
        Array.from({ length: 40 }, (_, i) =>
          i % 2 === 0
            ? db.query<{ n: number }>('SELECT $1::int AS n, pg_sleep(0.05)', [i])
            : db.transaction((tx) => tx.query<{ n: number }>('SELECT $1::int AS n, pg_sleep(0.05)', [i])),
        ),
      );
      const failed = results.filter((r) => r.status === 'rejected');
      expect(failed.map((r) => String((r as PromiseRejectedResult).reason))).toEqual([]);
      expect(results.map((r) => (r.status === 'fulfilled' ? r.value.rows[0]?.n : -1))).toEqual(
        Array.from({ length: 40 }, (_, i) => i),
      );
    } finally {
      await db.close();
    }
  });

  it('a statement that never answers is cut at the query timeout, and the queue behind it moves on', async () => {
    const db = createPgDatabase(services().pgUrl, 1, {
      ...POSTGRES_TIMEOUT_DEFAULTS,
      connectTimeoutMs: 200,
      statementTimeoutMs: 0,
      queryTimeoutMs: 300,
    });
    try {
      const holder = db.query('SELECT pg_sleep(5)').catch((error: unknown) => error);
      const started = Date.now();
      const waiter = await db.query<{ one: number }>('SELECT 1 AS one');
      expect(waiter.rows).toEqual([{ one: 1 }]);
      expect(Date.now() - started).toBeLessThan(2_000);
      expect(isStoreUnavailable(await holder)).toBe(true);
    } finally {
      await db.close();
    }
  });
});
