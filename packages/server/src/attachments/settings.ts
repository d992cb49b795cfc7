import { PICTURE_TYPES, SOUND_AND_VIDEO_TYPES } from './media-types.js';
import type { S3Settings } from './s3-blob-store.js';

/** What one app may upload: the size limit and the allow-list of detected types. */
export interface AttachmentLimits {
  readonly maxBytes: number;
  /** Detected MIME types (file-type) allowed; `application/octet-stream` stands for "not recognised". */
  readonly types: readonly string[];
}

export interface AttachmentSettings {
  /** `fs`: files under `fsRoot` (default); `s3`: an S3-compatible bucket. */
  readonly blobStore: { readonly kind: 'fs'; readonly root: string } | ({ readonly kind: 's3' } & S3Settings);
  /** Every app's limits unless `perApp` names it. */
  readonly defaults: AttachmentLimits;
  readonly perApp: Readonly<Record<string, AttachmentLimits>>;
  /** Images declaring more pixels (width × height, read from the header) are refused before decoding. */
  readonly maxPixels: number;
  /** The long side of thumbnails, in pixels. */
  readonly thumbnailSize: number;
  /** How long a signed file URL stays valid. */
  readonly urlTtlSeconds: number;
  /** An upload not sent with a message after this long is removed (row, blob, thumbnail). */
  readonly orphanSeconds: number;
  /** How often the orphan sweep runs. */
  readonly sweepSeconds: number;
  /** Where resumable (tus) uploads are kept while they are incomplete. */
  readonly stagingDir: string;
  /** Where `metadata.src` points: the HTTP API's base path (or an absolute URL before it). */
  readonly publicBaseUrl: string;
}

/** Types accepted by default: pictures, sound, video, PDF and the usual office and archive files. */
export const DEFAULT_ATTACHMENT_TYPES: readonly string[] = [
  ...PICTURE_TYPES,
  'application/pdf',
  ...SOUND_AND_VIDEO_TYPES,
  'application/zip',
  'application/x-cfb',
  'application/vnd.openxmlformats-officedocument.wordprocessingml.document',
  'application/vnd.openxmlformats-officedocument.spreadsheetml.sheet',
  'application/vnd.openxmlformats-officedocument.presentationml.presentation',
  'application/vnd.oasis.opendocument.text',
  'application/vnd.oasis.opendocument.spreadsheet',
];

export function limitsFor(settings: AttachmentSettings, app: string): AttachmentLimits {
  return settings.perApp[app] ?? settings.defaults;
}
