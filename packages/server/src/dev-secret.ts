import { randomBytes } from 'node:crypto';
import { mkdir, readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { DEFAULT_DATA_DIR, type Environment } from './config.js';

const SECRET_FILE = 'dev-jwt-secret';

/**
 * In dev mode without MERCURIO_JWT_SECRET: a random secret generated once and kept in the data
 * folder, so that tokens stay valid across restarts. Returns the environment to configure from,
 * and where the secret lives when it was generated.
 */
export async function withDevSecret(env: Environment): Promise<{ env: Environment; secretFile?: string }> {
  const dev = env.MERCURIO_DEV === 'true' || env.MERCURIO_DEV === '1';
  if (!dev || env.MERCURIO_JWT_SECRET) return { env };
  const dir = env.MERCURIO_DATA_DIR || DEFAULT_DATA_DIR;
  const secretFile = join(dir, SECRET_FILE);
  let secret = await readFile(secretFile, 'utf8').catch(() => '');
  if (secret.trim().length < 32) {
    secret = randomBytes(32).toString('base64url');
    await mkdir(dir, { recursive: true });
    await writeFile(secretFile, secret, { mode: 0o600 });
  }
  return { env: { ...env, MERCURIO_JWT_SECRET: secret.trim() }, secretFile };
}
