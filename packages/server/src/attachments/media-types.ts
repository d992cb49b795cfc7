/** Raster images sharp decodes for thumbnails (never SVG: a document that may carry script). */
export const PICTURE_TYPES: readonly string[] = [
  'image/png',
  'image/jpeg',
  'image/gif',
  'image/webp',
  'image/avif',
];

/** Sound and video a browser plays from the file URL. */
export const SOUND_AND_VIDEO_TYPES: readonly string[] = [
  'audio/mpeg',
  'audio/ogg',
  'audio/wav',
  'audio/aac',
  'audio/mp4',
  'audio/webm',
  'video/mp4',
  'video/webm',
  'video/quicktime',
];
