import pLimit from 'p-limit';
import pg from 'pg';
import type { Logger } from '../logger.js';
import type { SqlDatabase, SqlExecutor } from './sql.js';
import { StoreUnavailableError } from './store-unavailable.js';

/**
 * How long the store waits for PostgreSQL before it reports it unavailable. Without them a
 * stalled connection (a network path that stops forwarding) held every caller for minutes.
 */
export interface PostgresTimeoutSettings {
  /** Opening a connection (waiting for a free one is bounded apart: see checkoutQueue). */
  readonly connectTimeoutMs: number;
  /** Server side: PostgreSQL cancels a statement running longer (statement_timeout). */
  readonly statementTimeoutMs: number;
  /**
   * Client side: a statement with no answer after this long fails and its connection is
   * discarded; a bit above the statement timeout, so that a slow statement is the server's to
   * cancel and only a silent connection is cut here.
   */
  readonly queryTimeoutMs: number;
  /** Server side: a transaction left idle this long is ended (idle_in_transaction_session_timeout). */
  readonly idleInTransactionTimeoutMs: number;
  /** TCP keepalive: first probe after the connection is idle this long. */
  readonly keepAliveMs: number;
}

export const POSTGRES_TIMEOUT_DEFAULTS: PostgresTimeoutSettings = {
  connectTimeoutMs: 5_000,
  statementTimeoutMs: 15_000,
  queryTimeoutMs: 17_000, // the statement timeout plus 2 s, as config.ts derives it
  idleInTransactionTimeoutMs: 30_000,
  keepAliveMs: 10_000,
};

// bigint columns (seq, timestamps in ms) fit in a double: read them as numbers. Set per pool,
// not on pg's global type registry.
const types = {
  getTypeParser(oid: number, format?: 'text' | 'binary') {
    if (oid === pg.types.builtins.INT8) return (value: string) => Number(value);
    return pg.types.getTypeParser(oid, format);
  },
} as pg.CustomTypesConfig;

/**
 * SQLSTATEs of a database that cannot serve now, whatever the statement: a statement cancelled
 * by statement_timeout (57014), a transaction ended as idle (25P03), too many connections
 * (53300), a server shutting down or starting (57P*), a connection exception (08*).
 */
function unavailableState(code: string | undefined): boolean {
  if (code === undefined) return false;
  // 25006: a read-only transaction, i.e. the address points at a standby (a switchover under way).
  return (
    code === '57014' || code === '25P03' || code === '25006' || code === '53300' || /^(57P|08)/.test(code)
  );
}

/**
 * A failure of the connection rather than of the statement: node-postgres's own timeouts and
 * lost connections, and socket errors (ECONNRESET, ECONNREFUSED, …).
 */
function connectionFailure(error: unknown): boolean {
  if (!(error instanceof Error) || error instanceof pg.DatabaseError) return false;
  const code = (error as { code?: unknown }).code;
  if (typeof code === 'string' && /^E[A-Z]+$/.test(code)) return true;
  return /timeout|terminated|not queryable|connection/i.test(error.message);
}

/** The error as callers should see it: StoreUnavailableError when PostgreSQL is out of reach. */
function classify(error: unknown, sentWrite: boolean): unknown {
  if (error instanceof pg.DatabaseError) {
    if (!unavailableState(error.code)) return error;
    // PostgreSQL answered: the statement was not applied.
    return new StoreUnavailableError(`PostgreSQL unavailable: ${error.message}`, {
      cause: error,
      outcomeUnknown: false,
    });
  }
  if (!connectionFailure(error)) return error;
  const reason = error instanceof Error ? error.message : String(error);
  return new StoreUnavailableError(`PostgreSQL unavailable: ${reason}`, {
    cause: error,
    outcomeUnknown: sentWrite,
  });
}

/** The connection is still in step with the server after this failure (it can be reused). */
function inStep(error: unknown): boolean {
  if (error instanceof pg.DatabaseError) return !unavailableState(error.code);
  return !connectionFailure(error);
}

/** A statement that only reads: failing after it was sent changes nothing. */
function readOnly(text: string): boolean {
  return /^\s*select\b/i.test(text);
}

function run(client: pg.PoolClient, text: string, params?: readonly unknown[], name?: string) {
  const values = params as unknown[] | undefined;
  return name ? client.query({ name, text, values }) : client.query(text, values);
}

export function createPgDatabase(
  url: string,
  poolSize: number,
  timeouts: PostgresTimeoutSettings = POSTGRES_TIMEOUT_DEFAULTS,
  log?: Logger,
): SqlDatabase {
  const pool = new pg.Pool({
    connectionString: url,
    max: poolSize,
    types,
    connectionTimeoutMillis: timeouts.connectTimeoutMs,
    statement_timeout: timeouts.statementTimeoutMs,
    query_timeout: timeouts.queryTimeoutMs,
    idle_in_transaction_session_timeout: timeouts.idleInTransactionTimeoutMs,
    keepAlive: true,
    keepAliveInitialDelayMillis: timeouts.keepAliveMs,
  });
  // An idle client losing its connection (database restart) must not crash the process; the
  // next query gets a fresh connection.
  pool.on('error', (error) => log?.warn({ err: error }, 'PostgreSQL connection lost (idle in the pool)'));
  // A connection lost while checked out fails its query (the caller sees that); the client emits
  // the error too, which must not crash the process (pg-pool does not listen on every client).
  pool.on('connect', (client) => {
    client.on('error', (error) => log?.debug({ err: error }, 'PostgreSQL connection lost'));
  });

  const checkouts = checkoutQueue(poolSize, timeouts);
  const connect = async (): Promise<pg.PoolClient> => {
    try {
      return await pool.connect();
    } catch (error) {
      // Nothing was sent.
      throw classify(error, false);
    }
  };
  /**
   * Gives the client back; one that failed other than by PostgreSQL's refusal of a statement is
   * discarded (after a client-side timeout its connection is out of step with the server).
   */
  const release = (client: pg.PoolClient, error: unknown) => {
    if (error === undefined || inStep(error)) client.release();
    else client.release(error instanceof Error ? error : new Error(String(error)));
  };

  return {
    query: (text, params, name) => checkouts(() => queryOnce(text, params, name)),
    exec: (script) => checkouts(() => execOnce(script)),
    transaction: (work) => checkouts(() => transactionOnce(work)),
    async close() {
      await pool.end();
    },
  };

  async function queryOnce(text: string, params?: readonly unknown[], name?: string) {
    const client = await connect();
    let failure: unknown;
    try {
      const result = await run(client, text, params, name);
      return { rows: result.rows };
    } catch (error) {
      failure = error;
      throw classify(error, !readOnly(text));
    } finally {
      release(client, failure);
    }
  }

  async function execOnce(script: string): Promise<void> {
    const client = await connect();
    let failure: unknown;
    try {
      await client.query(script);
    } catch (error) {
      failure = error;
      throw classify(error, true);
    } finally {
      release(client, failure);
    }
  }

  async function transactionOnce<T>(work: (tx: SqlExecutor) => Promise<T>): Promise<T> {
    const client = await connect();
    let failure: unknown;
    let committing = false;
    let brokenRollback = false;
    try {
      await client.query('BEGIN');
      const result = await work({
        query: async (text, params, name) => ({ rows: (await run(client, text, params, name)).rows }),
        exec: async (script) => {
          await client.query(script);
        },
      });
      committing = true;
      await client.query('COMMIT');
      return result;
    } catch (error) {
      failure = error;
      // A statement refused (or our own code failing): the connection is in step, roll back and
      // reuse it. A lost or silent one is discarded, which ends the transaction server-side.
      if (inStep(error)) {
        await client.query('ROLLBACK').catch((rollbackError: unknown) => {
          // A connection that cannot even roll back is discarded rather than reused.
          failure = new Error('ROLLBACK failed', { cause: rollbackError });
          brokenRollback = true;
        });
      }
      // Only a COMMIT sent and never answered may have been applied.
      throw classify(error, committing);
    } finally {
      if (brokenRollback) client.release(failure as Error);
      else release(client, failure);
    }
  }
}

/**
 * At most `poolSize` callers hold or wait for a pool client; the others wait here. pg-pool bounds
 * its own wait with the connection timeout, so a burst deeper than the pool (the router has
 * prefetch × shards messages in flight) timed out in the queue on a busy machine, was taken for
 * a database out of reach and paused the router. Waiting here is bounded by what a database that
 * answers can take: every holder finishes or fails within its query timeout, so a wait longer than
 * that and a connection's opening means the database is not answering.
 */
function checkoutQueue(
  poolSize: number,
  timeouts: PostgresTimeoutSettings,
): <T>(work: () => Promise<T>) => Promise<T> {
  const limit = pLimit(poolSize);
  const patienceMs = timeouts.queryTimeoutMs + timeouts.connectTimeoutMs;
  return (work) =>
    new Promise((resolve, reject) => {
      let expired = false;
      const timer =
        patienceMs > 0
          ? setTimeout(() => {
              expired = true;
              reject(
                new StoreUnavailableError(
                  `PostgreSQL unavailable: no connection free within ${patienceMs} ms`,
                  { cause: undefined, outcomeUnknown: false },
                ),
              );
            }, patienceMs)
          : undefined;
      void limit(async () => {
        if (expired) return;
        clearTimeout(timer);
        await work().then(resolve, reject);
      });
    });
}
