import { createPgDatabase } from '../../src/store/pg-database.js';
import { createPgliteDatabase } from '../../src/store/pglite-database.js';
import type { SqlDatabase } from '../../src/store/sql.js';
import { services } from './services.js';

/** Both stores, for `describe.each`: the same SQL must behave the same on each. */
export const SQL_DATABASES: [string, () => Promise<SqlDatabase>][] = [
  ['PostgreSQL', async () => createPgDatabase(services().pgUrl, 4)],
  ['PGlite', () => createPgliteDatabase('memory://')],
];
