import type { ShardLeaseStore } from './shard-lease-store.js';
import type { SqlDatabase } from './sql.js';

/** Routers silent for this long are forgotten (their rows would otherwise stay forever). */
const FORGET_AFTER_MS = 3_600_000;

/** The router_members and router_shard_leases tables (migration 010). */
export class SqlShardLeases implements ShardLeaseStore {
  readonly #db: SqlDatabase;

  constructor(db: SqlDatabase) {
    this.#db = db;
  }

  async heartbeat(group: string, router: string, ttlMs: number): Promise<string[]> {
    await this.#db.query(
      `INSERT INTO router_members (member_group, router_id, seen_at) VALUES ($1, $2, now())
       ON CONFLICT (member_group, router_id) DO UPDATE SET seen_at = now()`,
      [group, router],
    );
    await this.#db.query(
      `DELETE FROM router_members
        WHERE member_group = $1 AND seen_at < now() - $2::float8 * interval '1 millisecond'`,
      [group, FORGET_AFTER_MS],
    );
    const { rows } = await this.#db.query<{ router_id: string }>(
      `SELECT router_id FROM router_members
        WHERE member_group = $1 AND seen_at > now() - $2::float8 * interval '1 millisecond'
        ORDER BY router_id`,
      [group, ttlMs],
    );
    return rows.map((row) => row.router_id);
  }

  async claim(group: string, shards: readonly number[], router: string, ttlMs: number): Promise<number[]> {
    if (shards.length === 0) return [];
    // The claim is a heartbeat too: the claiming router is alive at the moment it claims.
    const { rows } = await this.#db.query<{ shard: number }>(
      `WITH beat AS (
         UPDATE router_members SET seen_at = now() WHERE member_group = $1 AND router_id = $3
       )
       INSERT INTO router_shard_leases AS lease (member_group, shard, owner)
       SELECT $1, shard, $3 FROM unnest($2::int[]) AS shard
       ON CONFLICT (member_group, shard) DO UPDATE SET owner = EXCLUDED.owner
        WHERE lease.owner IS NULL OR lease.owner = EXCLUDED.owner
           OR NOT EXISTS (
             SELECT 1 FROM router_members m
              WHERE m.member_group = lease.member_group AND m.router_id = lease.owner
                AND m.seen_at > now() - $4::float8 * interval '1 millisecond')
       RETURNING shard`,
      [group, shards, router, ttlMs],
    );
    return rows.map((row) => row.shard).sort((a, b) => a - b);
  }

  async release(group: string, shard: number, router: string): Promise<void> {
    await this.#db.query(
      'UPDATE router_shard_leases SET owner = NULL WHERE member_group = $1 AND shard = $2 AND owner = $3',
      [group, shard, router],
    );
  }

  async leave(group: string, router: string): Promise<void> {
    await this.#db.transaction(async (tx) => {
      await tx.query('UPDATE router_shard_leases SET owner = NULL WHERE member_group = $1 AND owner = $2', [
        group,
        router,
      ]);
      await tx.query('DELETE FROM router_members WHERE member_group = $1 AND router_id = $2', [
        group,
        router,
      ]);
    });
  }
}
