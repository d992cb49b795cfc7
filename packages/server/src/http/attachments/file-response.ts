import type { FastifyReply } from 'fastify';
import type { ByteRange } from '../../attachments/blob-store.js';
import { isInlineType } from '../../attachments/file-types.js';

/**
 * A file response can never run in the app's origin: the type is the one detected from the bytes
 * and not sniffed (`nosniff`), anything but a picture, sound or video is a download
 * (`Content-Disposition: attachment`), and the CSP forbids scripts, plugins, forms and framing
 * (`sandbox`: even an HTML or SVG file opened directly runs in an opaque origin, with no script).
 */
export const FILE_CSP =
  "default-src 'none'; img-src 'self'; media-src 'self'; style-src 'unsafe-inline'; sandbox; frame-ancestors 'none'";

export function fileHeaders(reply: FastifyReply, type: string, name: string, maxAgeSeconds: number): void {
  const disposition = isInlineType(type) ? 'inline' : 'attachment';
  reply.headers({
    'content-type': type,
    'x-content-type-options': 'nosniff',
    'content-security-policy': FILE_CSP,
    'content-disposition': `${disposition}; filename="${asciiName(name)}"; filename*=UTF-8''${encodeRfc5987(name)}`,
    'cache-control': `private, max-age=${Math.max(0, maxAgeSeconds)}`,
    'referrer-policy': 'no-referrer',
    'accept-ranges': 'bytes',
  });
}

function asciiName(name: string): string {
  return name.replace(/[^\x20-\x7e]|["\\]/g, '_');
}

function encodeRfc5987(name: string): string {
  return encodeURIComponent(name).replace(/['()*]/g, (c) => `%${c.charCodeAt(0).toString(16).toUpperCase()}`);
}

/**
 * One range of a `Range: bytes=…` header against a blob of `size` bytes: the range, `undefined`
 * to serve the whole file (no header, several ranges, another unit), or `unsatisfiable` (416).
 */
export function parseRange(
  header: string | undefined,
  size: number,
): ByteRange | undefined | 'unsatisfiable' {
  if (header === undefined) return undefined;
  const match = /^bytes=(\d*)-(\d*)$/.exec(header.trim());
  if (!match) return undefined;
  const [, from, to] = match;
  if (from === '' && to === '') return undefined;
  let start: number;
  let end: number;
  if (from === '') {
    // The last N bytes.
    const suffix = Number(to);
    if (suffix === 0) return 'unsatisfiable';
    start = Math.max(0, size - suffix);
    end = size - 1;
  } else {
    start = Number(from);
    end = to === '' ? size - 1 : Math.min(Number(to), size - 1);
  }
  if (start >= size || start > end) return 'unsatisfiable';
  return { start, end };
}
