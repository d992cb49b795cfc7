import { PGlite, types } from '@electric-sql/pglite';
import type { SqlDatabase, SqlExecutor } from './sql.js';

interface PgliteLike {
  query<T>(text: string, params?: unknown[]): Promise<{ rows: T[] }>;
  exec(script: string): Promise<unknown>;
}

function executor(db: PgliteLike): SqlExecutor {
  return {
    async query<T>(text: string, params?: readonly unknown[]) {
      const result = await db.query<T>(text, params ? [...params] : undefined);
      return { rows: result.rows };
    },
    async exec(script) {
      await db.exec(script);
    },
  };
}

/**
 * PostgreSQL compiled to WebAssembly, in a data folder (or in memory with `memory://`): the
 * embedded engine's database, with the same SQL and migrations as PostgreSQL. One connection:
 * PGlite runs transactions one at a time.
 */
export async function createPgliteDatabase(dataDir: string): Promise<SqlDatabase> {
  const db = await PGlite.create({
    dataDir,
    // bigint columns (seq, ms timestamps) fit in a double, as with node-postgres.
    parsers: { [types.INT8]: (value: string) => Number(value) },
  });
  const base = executor(db);
  return {
    ...base,
    transaction: (work) => db.transaction((tx) => work(executor(tx))),
    async close() {
      await db.close();
    },
  };
}
