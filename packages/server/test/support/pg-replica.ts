import { execFile } from 'node:child_process';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import pg from 'pg';

const run = promisify(execFile);
const SCRIPT = join(dirname(fileURLToPath(import.meta.url)), '../../../../scripts/pg-replica.sh');

/** Ports of the private pair (39xxx: no other test file uses them). */
const PRIMARY_PORT = 39432;
const REPLICA_PORT = 39433;

export type PgServer = 'primary' | 'replica';

// Read bigint columns (seq) as numbers, as the store does.
const types = {
  getTypeParser: (oid: number, format?: 'text' | 'binary') =>
    oid === pg.types.builtins.INT8 ? Number : pg.types.getTypeParser(oid, format),
} as pg.CustomTypesConfig;

/**
 * A private PostgreSQL 15 primary and its synchronous streaming replica (scripts/pg-replica.sh):
 * started by `start()`, removed with every file by `stop()` (also after a failed start).
 */
export class PgReplicaPair {
  readonly primaryPort = PRIMARY_PORT;
  readonly replicaPort = REPLICA_PORT;
  readonly #pools = new Map<PgServer, pg.Pool>();

  static async start(): Promise<PgReplicaPair> {
    const pair = new PgReplicaPair();
    await pair.#script('start');
    return pair;
  }

  url(server: PgServer): string {
    return `postgres://postgres@127.0.0.1:${server === 'primary' ? PRIMARY_PORT : REPLICA_PORT}/mercurio`;
  }

  /** A query on one server (a pool of one connection each, opened on first use). */
  // biome-ignore lint/suspicious/noExplicitAny: rows are whatever the test selected
  async sql<Row = any>(server: PgServer, text: string, params: unknown[] = []): Promise<Row[]> {
    let pool = this.#pools.get(server);
    if (!pool) {
      pool = new pg.Pool({ connectionString: this.url(server), max: 1, types });
      pool.on('error', () => {}); // a server stopped on purpose
      this.#pools.set(server, pool);
    }
    return (await pool.query(text, params)).rows as Row[];
  }

  /** Stops the primary (`immediate`: as a crash, no shutdown checkpoint). */
  async stopPrimary(mode: 'fast' | 'immediate'): Promise<void> {
    await this.#endPool('primary');
    await this.#script('stop-primary', mode);
  }

  /** Promotes the replica; resolves once it takes writes. */
  async promote(): Promise<void> {
    await this.#script('promote');
  }

  async stop(): Promise<void> {
    await Promise.all([this.#endPool('primary'), this.#endPool('replica')]);
    await this.#script('stop');
  }

  async #endPool(server: PgServer): Promise<void> {
    const pool = this.#pools.get(server);
    this.#pools.delete(server);
    await pool?.end().catch(() => {});
  }

  async #script(...args: string[]): Promise<void> {
    await run('bash', [SCRIPT, ...args], {
      env: {
        ...process.env,
        MERCURIO_PG_PRIMARY_PORT: String(PRIMARY_PORT),
        MERCURIO_PG_REPLICA_PORT: String(REPLICA_PORT),
      },
      timeout: 90_000,
    });
  }
}
