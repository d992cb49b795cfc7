import { readdir, readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { SqlDatabase } from './sql.js';

// packages/server/migrations, from src/store or dist/store alike.
const MIGRATIONS_DIR = fileURLToPath(new URL('../../migrations/', import.meta.url));
/** Serialises migrators: several processes may start at once against one database. */
const MIGRATION_LOCK_ID = 0x6d65726375; // "mercu"

export interface Migration {
  version: number;
  name: string;
  sql: string;
}

export async function loadMigrations(dir = MIGRATIONS_DIR): Promise<Migration[]> {
  const files = (await readdir(dir)).filter((file) => /^\d+_.+\.sql$/.test(file)).sort();
  return Promise.all(
    files.map(async (file) => ({
      version: Number.parseInt(file, 10),
      name: file.replace(/\.sql$/, ''),
      sql: await readFile(join(dir, file), 'utf8'),
    })),
  );
}

/** Applies the migrations not yet applied, each in its own transaction; returns their names. */
export async function migrate(db: SqlDatabase, migrations?: Migration[]): Promise<string[]> {
  const all = migrations ?? (await loadMigrations());
  return db.transaction(async (tx) => {
    await tx.query('SELECT pg_advisory_xact_lock($1)', [MIGRATION_LOCK_ID]);
    // Under the lock: two processes creating it at once on a new database collide in pg_type.
    await tx.exec(
      'CREATE TABLE IF NOT EXISTS mercurio_migrations (version integer PRIMARY KEY, name text NOT NULL, applied_at timestamptz NOT NULL DEFAULT now())',
    );
    const { rows } = await tx.query<{ version: number }>('SELECT version FROM mercurio_migrations');
    const applied = new Set(rows.map((row) => row.version));
    const names: string[] = [];
    for (const migration of all) {
      if (applied.has(migration.version)) continue;
      await tx.exec(migration.sql);
      await tx.query('INSERT INTO mercurio_migrations (version, name) VALUES ($1, $2)', [
        migration.version,
        migration.name,
      ]);
      names.push(migration.name);
    }
    return names;
  });
}
