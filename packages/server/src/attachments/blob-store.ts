import type { Readable } from 'node:stream';

/** A byte range of a blob, both ends included (an HTTP `Range: bytes=start-end`). */
export interface ByteRange {
  start: number;
  end: number;
}

export interface BlobRead {
  body: Readable;
  /** The whole blob's size, whatever range was read. */
  size: number;
}

/**
 * Where attachments' bytes rest, keyed by id (`<attachment id>` and `<attachment id>.thumb`):
 * like Bus and Store, a port with two adapters — the local filesystem under the data folder
 * (fs-blob-store.ts, the embedded default) and S3-compatible object storage (s3-blob-store.ts),
 * chosen by MERCURIO_BLOB_STORE. Metadata (type, size, owner) lives in the attachments table.
 */
export interface BlobStore {
  /** Writes the whole blob; only a complete write is ever visible under `key`. */
  put(key: string, body: Buffer | Readable, size: number): Promise<void>;
  /** The blob, or the range of it; null when there is no such blob. */
  get(key: string, range?: ByteRange): Promise<BlobRead | null>;
  /** Deletes these blobs; missing ones are ignored. */
  delete(keys: readonly string[]): Promise<void>;
  close(): Promise<void>;
}

/** Keys are ids the server made: letters, digits, `-`, and one `.suffix`; never a path. */
const KEY = /^[A-Za-z0-9][A-Za-z0-9-]{0,127}(\.[a-z]{1,16})?$/;

export function checkBlobKey(key: string): string {
  if (!KEY.test(key)) throw new Error(`invalid blob key: ${JSON.stringify(key)}`);
  return key;
}
