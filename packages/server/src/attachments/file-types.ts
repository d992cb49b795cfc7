import { fileTypeFromFile } from 'file-type';

/** What the bytes say a file is; the client's name and Content-Type are never trusted for this. */
export const UNRECOGNISED_TYPE = 'application/octet-stream';

/** Raster images sharp decodes for thumbnails (never SVG: a document that may carry script). */
const PROCESSED_IMAGES = new Set(['image/png', 'image/jpeg', 'image/gif', 'image/webp', 'image/avif']);

/**
 * Types a browser may show inline from the file URL: pictures it only decodes, sound and video.
 * Everything else (HTML, SVG, PDF, text, unknown) is served as a download.
 */
const INLINE_TYPES = new Set([
  ...PROCESSED_IMAGES,
  'audio/mpeg',
  'audio/ogg',
  'audio/wav',
  'audio/aac',
  'audio/mp4',
  'audio/webm',
  'video/mp4',
  'video/webm',
  'video/quicktime',
]);

/** The type detected from the file's first bytes (file-type), or `application/octet-stream`. */
export async function detectType(path: string): Promise<string> {
  const detected = await fileTypeFromFile(path);
  return detected?.mime ?? UNRECOGNISED_TYPE;
}

export const isProcessedImage = (type: string): boolean => PROCESSED_IMAGES.has(type);
export const isInlineType = (type: string): boolean => INLINE_TYPES.has(type);
/** Sound and video are served with byte ranges (players seek); other types too, harmlessly. */
export const isMediaType = (type: string): boolean => type.startsWith('audio/') || type.startsWith('video/');
