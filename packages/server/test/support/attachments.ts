import { readdir } from 'node:fs/promises';
import { join } from 'node:path';
import { crc32, deflateSync } from 'node:zlib';
import { ListObjectsV2Command, S3Client } from '@aws-sdk/client-s3';
import sharp from 'sharp';
import type { Config } from '../../src/config.js';

// biome-ignore lint/suspicious/noExplicitAny: JSON answers, read by the assertions
export type Json = any;

/** Uploads one file as multipart/form-data (part `file`) to the attachments route. */
export async function uploadMultipart(
  httpUrl: string,
  token: string,
  app: string,
  recipient: string,
  file: { name: string; bytes: Buffer; type?: string },
  channelType?: 'direct' | 'group',
): Promise<{ status: number; body: Json; code: string | null }> {
  const form = new FormData();
  form.append('file', new Blob([new Uint8Array(file.bytes)], { type: file.type ?? 'image/png' }), file.name);
  const query = new URLSearchParams({
    recipient_id: recipient,
    ...(channelType ? { channel_type: channelType } : {}),
  });
  const response = await fetch(`${httpUrl}/api/v1/apps/${app}/attachments?${query}`, {
    method: 'POST',
    headers: { authorization: token },
    body: form,
  });
  const body = (await response.json()) as Json;
  return { status: response.status, body, code: response.headers.get('x-mercurio-error') };
}

/** A real photo-like JPEG with an EXIF block (a copyright marker and GPS coordinates). */
export async function jpegWithExif(width = 800, height = 600): Promise<Buffer> {
  return sharp({ create: { width, height, channels: 3, background: { r: 200, g: 80, b: 40 } } })
    .withExif({
      IFD0: { Copyright: 'EXIF-MARKER-16', Artist: 'EXIF-MARKER-16' },
      IFD3: {
        GPSLatitudeRef: 'N',
        GPSLatitude: '45/1 27/1 0/1',
        GPSLongitudeRef: 'E',
        GPSLongitude: '9/1 11/1 0/1',
      },
    })
    .jpeg()
    .toBuffer();
}

export function png(width = 64, height = 48): Promise<Buffer> {
  return sharp({ create: { width, height, channels: 4, background: '#3366ff' } })
    .png()
    .toBuffer();
}

function chunk(type: string, data: Buffer): Buffer {
  const length = Buffer.alloc(4);
  length.writeUInt32BE(data.length);
  const body = Buffer.concat([Buffer.from(type, 'ascii'), data]);
  const crc = Buffer.alloc(4);
  crc.writeUInt32BE(crc32(body));
  return Buffer.concat([length, body, crc]);
}

/** A decompression bomb: a PNG of a few dozen bytes whose header claims `width` × `height` pixels. */
export function pngBomb(width = 100_000, height = 100_000): Buffer {
  const header = Buffer.alloc(13);
  header.writeUInt32BE(width, 0);
  header.writeUInt32BE(height, 4);
  header[8] = 8; // bit depth
  header[9] = 2; // RGB
  return Buffer.concat([
    Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]),
    chunk('IHDR', header),
    chunk('IDAT', deflateSync(Buffer.alloc(1024))),
    chunk('IEND', Buffer.alloc(0)),
  ]);
}

/** A Windows executable's first bytes (MZ … PE), as a `.exe` renamed `.png` would carry. */
export function windowsExe(): Buffer {
  const bytes = Buffer.alloc(1024);
  bytes.write('MZ', 0, 'ascii');
  bytes.writeUInt32LE(0x80, 0x3c);
  bytes.write('PE\0\0', 0x80, 'binary');
  bytes.writeUInt16LE(0x14c, 0x84);
  return bytes;
}

export const SVG_WITH_SCRIPT = Buffer.from(
  '<?xml version="1.0"?><svg xmlns="http://www.w3.org/2000/svg" width="10" height="10">' +
    '<script>fetch("/api/steal?c="+document.cookie)</script><rect width="10" height="10"/></svg>',
);

/** Every blob key the stack's blob store holds (files under the folder, or objects under the prefix). */
export async function blobKeys(config: Config): Promise<string[]> {
  const store = config.attachments.blobStore;
  if (store.kind === 'fs') {
    const found: string[] = [];
    const walk = async (dir: string): Promise<void> => {
      let entries: import('node:fs').Dirent[];
      try {
        entries = await readdir(dir, { withFileTypes: true });
      } catch {
        return;
      }
      for (const entry of entries) {
        if (entry.isDirectory()) await walk(join(dir, entry.name));
        else found.push(entry.name);
      }
    };
    await walk(store.root);
    return found.sort();
  }
  const client = new S3Client({
    region: store.region,
    endpoint: store.endpoint,
    forcePathStyle: true,
    credentials: { accessKeyId: store.accessKeyId!, secretAccessKey: store.secretAccessKey! },
  });
  try {
    const listed = await client.send(
      new ListObjectsV2Command({ Bucket: store.bucket, Prefix: store.prefix }),
    );
    return (listed.Contents ?? []).map((object) => object.Key!.slice(store.prefix.length)).sort();
  } finally {
    client.destroy();
  }
}

/** Files left in the staging folder (tus uploads, multipart files being received). */
export async function stagedFiles(config: Config): Promise<string[]> {
  try {
    return await readdir(config.attachments.stagingDir);
  } catch {
    return [];
  }
}
