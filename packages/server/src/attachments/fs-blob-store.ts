import { randomUUID } from 'node:crypto';
import { createReadStream, createWriteStream } from 'node:fs';
import { mkdir, rename, rm, stat } from 'node:fs/promises';
import { join } from 'node:path';
import { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { type BlobRead, type BlobStore, type ByteRange, checkBlobKey } from './blob-store.js';

/**
 * Blobs as files under one folder (`<data dir>/blobs` by default), spread over 256 subfolders by
 * the key's first two characters. A blob is written to a temporary name and renamed into place,
 * so a crash or a refused upload never leaves a partial file under a key.
 */
export class FsBlobStore implements BlobStore {
  readonly #root: string;

  constructor(root: string) {
    this.#root = root;
  }

  #path(key: string): string {
    checkBlobKey(key);
    return join(this.#root, key.slice(0, 2).toLowerCase(), key);
  }

  async put(key: string, body: Buffer | Readable, size: number): Promise<void> {
    const path = this.#path(key);
    await mkdir(join(path, '..'), { recursive: true });
    const temporary = `${path}.${randomUUID()}.partial`;
    try {
      const source = Buffer.isBuffer(body) ? Readable.from([body]) : body;
      await pipeline(source, createWriteStream(temporary, { flags: 'wx' }));
      const written = (await stat(temporary)).size;
      if (written !== size) throw new Error(`blob ${key}: wrote ${written} bytes, expected ${size}`);
      await rename(temporary, path);
    } catch (error) {
      await rm(temporary, { force: true });
      throw error;
    }
  }

  async get(key: string, range?: ByteRange): Promise<BlobRead | null> {
    const path = this.#path(key);
    let size: number;
    try {
      size = (await stat(path)).size;
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code === 'ENOENT') return null;
      throw error;
    }
    const body = createReadStream(path, range ? { start: range.start, end: range.end } : {});
    return { body, size };
  }

  async delete(keys: readonly string[]): Promise<void> {
    await Promise.all(keys.map((key) => rm(this.#path(key), { force: true })));
  }

  async close(): Promise<void> {}
}
