import sharp, { type Metadata, type Sharp } from 'sharp';
import { MercurioError } from '../errors.js';

export interface ProcessedImage {
  width: number;
  height: number;
  /** The image as served: auto-oriented and re-encoded without its metadata (EXIF, GPS, XMP). */
  servedPath: string;
  servedSize: number;
  thumbnailPath: string;
  thumbnailSize: number;
  /** A tiny blurred preview, as a data: URI (a few hundred bytes). */
  placeholder: string;
}

export interface ImageLimits {
  maxPixels: number;
  thumbnailSize: number;
}

const PLACEHOLDER_SIZE = 16;

/**
 * Reads the image's header first and refuses one declaring more than `maxPixels` before any
 * pixel is decoded (a decompression bomb: a small file claiming 100k × 100k); sharp's
 * `limitInputPixels` guards the decoding steps as well. Then writes the served copy and its
 * thumbnail next to `source`, and makes the placeholder.
 */
export async function processImage(
  source: string,
  type: string,
  limits: ImageLimits,
): Promise<ProcessedImage> {
  const animated = type === 'image/gif' || type === 'image/webp';
  const open = (pages = false) =>
    sharp(source, { limitInputPixels: limits.maxPixels, failOn: 'error', ...(pages ? { animated } : {}) });
  let header: Metadata;
  try {
    header = await open().metadata();
  } catch (error) {
    throw new MercurioError('image_too_large', `the image cannot be read: ${(error as Error).message}`);
  }
  const { width, height } = header;
  if (!width || !height) throw new MercurioError('image_too_large', 'the image declares no size');
  // Every frame of an animation is decoded: they count too.
  const pixels = width * height * (header.pages ?? 1);
  if (pixels > limits.maxPixels) {
    throw new MercurioError(
      'image_too_large',
      `the image declares ${width} × ${height}${header.pages && header.pages > 1 ? ` × ${header.pages} frames` : ''} pixels; the limit is ${limits.maxPixels}`,
    );
  }
  try {
    const servedPath = `${source}.served`;
    // rotate() applies the EXIF orientation; sharp writes no metadata unless asked to.
    const served = await encodeAs(open(true).rotate(), type).toFile(servedPath);
    const thumbnailPath = `${source}.thumb`;
    const thumbnail = await open()
      .rotate()
      .resize(limits.thumbnailSize, limits.thumbnailSize, { fit: 'inside', withoutEnlargement: true })
      .webp({ quality: 75 })
      .toFile(thumbnailPath);
    const tiny = await open()
      .rotate()
      .resize(PLACEHOLDER_SIZE, PLACEHOLDER_SIZE, { fit: 'inside' })
      .blur(1)
      .webp({ quality: 40 })
      .toBuffer();
    return {
      width: served.width,
      height: animated && header.pages ? (served.pageHeight ?? served.height) : served.height,
      servedPath,
      servedSize: served.size,
      thumbnailPath,
      thumbnailSize: thumbnail.size,
      placeholder: `data:image/webp;base64,${tiny.toString('base64')}`,
    };
  } catch (error) {
    if (error instanceof MercurioError) throw error;
    throw new MercurioError('image_too_large', `the image cannot be decoded: ${(error as Error).message}`);
  }
}

function encodeAs(image: Sharp, type: string): Sharp {
  switch (type) {
    case 'image/png':
      return image.png();
    case 'image/gif':
      return image.gif();
    case 'image/webp':
      return image.webp({ quality: 90 });
    case 'image/avif':
      return image.avif({ quality: 70 });
    default:
      return image.jpeg({ quality: 90 });
  }
}
