import { inject } from 'vitest';

/**
 * The S3-compatible server a test run owns (s3rver, started by global-s3.ts in the Vitest
 * process): one bucket, which every test shares under a key prefix of its own.
 */
export interface S3Env {
  endpoint: string;
  bucket: string;
  accessKeyId: string;
  secretAccessKey: string;
}

declare module 'vitest' {
  export interface ProvidedContext {
    s3: S3Env;
  }
}

/** The test S3 server's coordinates, as MERCURIO_S3_* settings, keys under `prefix`. */
export function s3Settings(prefix: string): Record<string, string> {
  const s3 = inject('s3');
  return {
    MERCURIO_BLOB_STORE: 's3',
    MERCURIO_S3_ENDPOINT: s3.endpoint,
    MERCURIO_S3_BUCKET: s3.bucket,
    MERCURIO_S3_ACCESS_KEY_ID: s3.accessKeyId,
    MERCURIO_S3_SECRET_ACCESS_KEY: s3.secretAccessKey,
    MERCURIO_S3_PREFIX: `${prefix}/`,
  };
}
