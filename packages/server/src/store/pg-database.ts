import pg from 'pg';
import type { SqlDatabase, SqlExecutor } from './sql.js';

// bigint columns (seq, timestamps in ms) fit in a double: read them as numbers. Set per pool,
// not on pg's global type registry.
const types = {
  getTypeParser(oid: number, format?: 'text' | 'binary') {
    if (oid === pg.types.builtins.INT8) return (value: string) => Number(value);
    return pg.types.getTypeParser(oid, format);
  },
} as pg.CustomTypesConfig;

function executor(client: pg.Pool | pg.PoolClient): SqlExecutor {
  return {
    async query(text, params, name) {
      const values = params as unknown[] | undefined;
      const result = await (name ? client.query({ name, text, values }) : client.query(text, values));
      return { rows: result.rows };
    },
    async exec(script) {
      await client.query(script);
    },
  };
}

export function createPgDatabase(url: string, poolSize: number): SqlDatabase {
  const pool = new pg.Pool({ connectionString: url, max: poolSize, types });
  // An idle client losing its connection (database restart) must not crash the process;
  // the next query gets a fresh connection.
  pool.on('error', () => {});
  const base = executor(pool);
  return {
    ...base,
    async transaction(work) {
      const client = await pool.connect();
      let broken: Error | undefined;
      try {
        await client.query('BEGIN');
        const result = await work(executor(client));
        await client.query('COMMIT');
        return result;
      } catch (error) {
        // A connection that cannot even roll back is discarded rather than reused.
        await client.query('ROLLBACK').catch((rollbackError: Error) => {
          broken = rollbackError;
        });
        throw error;
      } finally {
        client.release(broken);
      }
    },
    async close() {
      await pool.end();
    },
  };
}
