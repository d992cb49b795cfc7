import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, expect, it } from 'vitest';
import { createPgliteDatabase } from '../src/store/pglite-database.js';

const root = mkdtempSync(join(tmpdir(), 'mercurio-datadir-'));
afterAll(() => rmSync(root, { recursive: true, force: true }));

it('opens a data folder that does not exist yet, however deep (a first production start)', {
  timeout: 60_000,
}, async () => {
  const dataDir = join(root, 'not', 'there', 'yet', 'pglite');
  const db = await createPgliteDatabase(dataDir);
  try {
    const { rows } = await db.query<{ one: number }>('SELECT 1 AS one');
    expect(rows).toEqual([{ one: 1 }]);
    expect(existsSync(dataDir)).toBe(true);
  } finally {
    await db.close();
  }
});
