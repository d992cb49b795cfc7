import type { BlobStore } from './blob-store.js';
import { FsBlobStore } from './fs-blob-store.js';
import { S3BlobStore } from './s3-blob-store.js';
import type { AttachmentSettings } from './settings.js';

/** The blob store MERCURIO_BLOB_STORE chose. */
export function openBlobStore(settings: AttachmentSettings['blobStore']): BlobStore {
  return settings.kind === 's3' ? new S3BlobStore(settings) : new FsBlobStore(settings.root);
}
