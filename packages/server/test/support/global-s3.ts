/**
 * Vitest global setup: an S3-compatible server (s3rver, from npm: no Docker, no download) on a
 * free loopback port, with one bucket in a temporary folder, for the attachment tests' S3 blob
 * store. Stopped and its folder removed when the run ends.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import S3rver from 's3rver';
import type { TestProject } from 'vitest/node';
import type { S3Env } from './s3-env.js';

const BUCKET = 'mercurio-test';
// s3rver's one account.
const CREDENTIALS = { accessKeyId: 'S3RVER', secretAccessKey: 'S3RVER' };

export default async function setup(project: TestProject): Promise<() => Promise<void>> {
  const directory = mkdtempSync(join(tmpdir(), 'mercurio-s3-'));
  const server = new S3rver({
    address: '127.0.0.1',
    port: 0,
    silent: true,
    directory,
    configureBuckets: [{ name: BUCKET, configs: [] }],
  });
  const address = (await server.run()) as { port: number };
  const s3: S3Env = { endpoint: `http://127.0.0.1:${address.port}`, bucket: BUCKET, ...CREDENTIALS };
  project.provide('s3', s3);
  return async () => {
    await server.close().catch(() => {});
    rmSync(directory, { recursive: true, force: true });
  };
}
