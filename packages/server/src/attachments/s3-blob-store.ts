import type { Readable } from 'node:stream';
import {
  DeleteObjectsCommand,
  GetObjectCommand,
  NoSuchKey,
  PutObjectCommand,
  S3Client,
  S3ServiceException,
} from '@aws-sdk/client-s3';
import { type BlobRead, type BlobStore, type ByteRange, checkBlobKey } from './blob-store.js';

export interface S3Settings {
  /** An S3-compatible endpoint (MinIO, Ceph, R2, a test server); undefined: AWS itself. */
  readonly endpoint: string | undefined;
  readonly region: string;
  readonly bucket: string;
  /** Prepended to every key (several deployments or tests sharing one bucket). */
  readonly prefix: string;
  readonly accessKeyId: string | undefined;
  readonly secretAccessKey: string | undefined;
  /** `https://endpoint/bucket/key` rather than `https://bucket.endpoint/key` (most S3-compatible servers). */
  readonly forcePathStyle: boolean;
}

/** Blobs as objects of one bucket (@aws-sdk/client-s3). A PUT is atomic: no partial object is ever visible. */
export class S3BlobStore implements BlobStore {
  readonly #client: S3Client;
  readonly #settings: S3Settings;

  constructor(settings: S3Settings) {
    this.#settings = settings;
    this.#client = new S3Client({
      region: settings.region,
      forcePathStyle: settings.forcePathStyle,
      ...(settings.endpoint ? { endpoint: settings.endpoint } : {}),
      ...(settings.accessKeyId && settings.secretAccessKey
        ? { credentials: { accessKeyId: settings.accessKeyId, secretAccessKey: settings.secretAccessKey } }
        : {}),
      // Checksums only where S3 requires them: S3-compatible servers do not all understand the
      // streaming (aws-chunked) checksums the SDK would otherwise add to every upload.
      requestChecksumCalculation: 'WHEN_REQUIRED',
      responseChecksumValidation: 'WHEN_REQUIRED',
    });
  }

  #key(key: string): string {
    return `${this.#settings.prefix}${checkBlobKey(key)}`;
  }

  async put(key: string, body: Buffer | Readable, size: number): Promise<void> {
    await this.#client.send(
      new PutObjectCommand({
        Bucket: this.#settings.bucket,
        Key: this.#key(key),
        Body: body,
        ContentLength: size,
        ContentType: 'application/octet-stream',
      }),
    );
  }

  async get(key: string, range?: ByteRange): Promise<BlobRead | null> {
    try {
      const answer = await this.#client.send(
        new GetObjectCommand({
          Bucket: this.#settings.bucket,
          Key: this.#key(key),
          ...(range ? { Range: `bytes=${range.start}-${range.end}` } : {}),
        }),
      );
      const total = answer.ContentRange?.split('/')[1];
      const size = total !== undefined && total !== '*' ? Number(total) : Number(answer.ContentLength ?? 0);
      return { body: answer.Body as Readable, size };
    } catch (error) {
      if (error instanceof NoSuchKey) return null;
      if (error instanceof S3ServiceException && error.$metadata.httpStatusCode === 404) return null;
      throw error;
    }
  }

  async delete(keys: readonly string[]): Promise<void> {
    if (keys.length === 0) return;
    await this.#client.send(
      new DeleteObjectsCommand({
        Bucket: this.#settings.bucket,
        Delete: { Objects: keys.map((key) => ({ Key: this.#key(key) })), Quiet: true },
      }),
    );
  }

  async close(): Promise<void> {
    this.#client.destroy();
  }
}
