import { fileTypeFromFile } from 'file-type';
import { PICTURE_TYPES, SOUND_AND_VIDEO_TYPES } from './media-types.js';

/** What the bytes say a file is; the client's name and Content-Type are never trusted for this. */
export const UNRECOGNISED_TYPE = 'application/octet-stream';

const PROCESSED_IMAGES = new Set(PICTURE_TYPES);

/**
 * Types a browser may show inline from the file URL: pictures it only decodes, sound and video.
 * Everything else (HTML, SVG, PDF, text, unknown) is served as a download.
 */
const INLINE_TYPES = new Set([...PICTURE_TYPES, ...SOUND_AND_VIDEO_TYPES]);

/** The type detected from the file's first bytes (file-type), or `application/octet-stream`. */
export async function detectType(path: string): Promise<string> {
  const detected = await fileTypeFromFile(path);
  return detected?.mime ?? UNRECOGNISED_TYPE;
}

export const isProcessedImage = (type: string): boolean => PROCESSED_IMAGES.has(type);
export const isInlineType = (type: string): boolean => INLINE_TYPES.has(type);
/** Sound and video are served with byte ranges (players seek); other types too, harmlessly. */
export const isMediaType = (type: string): boolean => type.startsWith('audio/') || type.startsWith('video/');
