import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import sharp from 'sharp';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { DEFAULT_ATTACHMENT_TYPES } from '../../src/attachments/settings.js';
import {
  blobKeys,
  type Json,
  jpegWithExif,
  SVG_WITH_SCRIPT,
  stagedFiles,
  uploadMultipart,
} from './attachments.js';
import type { TestClient } from './mqtt-client.js';
import { s3Settings } from './s3-env.js';
import { until } from './sdk.js';
import { type EngineKind, TestStack } from './stack.js';

export type BlobKind = 'fs' | 's3';

// 1 MiB: more than the JSON body limit (256 KiB), which must not apply to uploads.
const PDF = Buffer.concat([Buffer.from('%PDF-1.4\n1 0 obj <<>> endobj\n'), randomBytes(1024 * 1024)]);

/**
 * The attachment happy paths (upload, send, receive, fetch, thumbnail, orphan sweep, removal with
 * a message) for one engine and one blob store; attachments.test.ts and
 * attachments-stores.test.ts run them on the four pairs, two each (a file stays under 40 s).
 */
export function attachmentFlows(engine: EngineKind, blobs: BlobKind): void {
  const dataDir = mkdtempSync(join(tmpdir(), 'mercurio-att-'));
  const stack = new TestStack(
    `att-${blobs}`,
    {
      MERCURIO_HTTP_PORT: '0',
      MERCURIO_DATA_DIR: dataDir,
      MERCURIO_ATTACHMENT_MAX_BYTES: String(2 * 1024 * 1024),
      MERCURIO_ATTACHMENT_ORPHAN_SECONDS: '1',
      // The default list, XML (file-type's name for an SVG with an XML declaration) and bytes of
      // no known type: an operator allowing any file.
      MERCURIO_ATTACHMENT_TYPES: [
        ...DEFAULT_ATTACHMENT_TYPES,
        'application/xml',
        'application/octet-stream',
      ].join(','),
      ...(blobs === 's3' ? s3Settings(`att-${engine}-${process.pid}-${Date.now()}`) : {}),
    },
    engine,
  );
  let url: string;
  let alice: TestClient;
  let bob: TestClient;
  const tokens: Record<string, string> = {};
  const added = (user: string, cw: string) => (m: { topic: string }) =>
    m.topic === stack.topic('users', user, 'messages', cw, 'clientadded');
  const api = (user: string, path: string, init: RequestInit = {}) =>
    fetch(`${url}/api/v1/apps/${stack.app}${path}`, {
      ...init,
      headers: { authorization: tokens[user]!, ...(init.headers ?? {}) },
    });

  beforeAll(async () => {
    const engineParts = await stack.startRouter({ http: true });
    url = engineParts.httpUrl!;
    for (const user of ['alice', 'bob', 'carol']) tokens[user] = await stack.token(user);
    [alice, bob] = await Promise.all([stack.client('alice'), stack.client('bob')]);
  });
  afterAll(async () => {
    await stack.close();
    rmSync(dataDir, { recursive: true, force: true });
  });

  it('an image: uploaded, sent, received with the server’s metadata, fetched by the other participant without EXIF, thumbnail and placeholder', async () => {
    const photo = await jpegWithExif(800, 600);
    expect((await sharp(photo).metadata()).exif).toBeDefined();
    const upload = await uploadMultipart(url, tokens.alice!, stack.app, 'bob', {
      name: 'holiday.jpg',
      bytes: photo,
    });
    expect(upload.status, JSON.stringify(upload.body)).toBe(201);
    const attachment = upload.body.result;
    expect(attachment).toMatchObject({
      type: 'image',
      sent: false,
      metadata: { width: 800, height: 600, name: 'holiday.jpg', type: 'image/jpeg' },
    });
    expect(attachment.placeholder).toMatch(/^data:image\/webp;base64,/);
    expect(attachment.placeholder.length).toBeLessThan(1000);

    // The client lies about the type, size and src: the stored message carries the server's.
    await alice.publish(stack.outgoing('alice', 'bob'), {
      text: 'holiday.jpg',
      type: 'text',
      metadata: {
        attachment_id: attachment.attachment_id,
        src: 'https://evil.example/x.html',
        type: 'text/html',
        size: 1,
      },
    });
    const copy = await bob.waitFor(added('bob', 'alice'));
    expect(copy.payload).toMatchObject({
      type: 'image',
      metadata: {
        attachment_id: attachment.attachment_id,
        type: 'image/jpeg',
        size: attachment.metadata.size,
        width: 800,
        height: 600,
        src: `/api/v1/apps/${stack.app}/attachments/${attachment.attachment_id}`,
      },
    });
    const { rows } = await stack.sql.query(
      'SELECT message_id, sent_at FROM attachments WHERE app_id = $1 AND attachment_id = $2',
      [stack.app, attachment.attachment_id],
    );
    expect(rows[0].message_id).toBe(copy.payload.message_id);

    // Bob, the other participant, gets signed URLs; the file has no EXIF (no GPS) left.
    const resource = await api('bob', `/attachments/${attachment.attachment_id}`);
    expect(resource.status).toBe(200);
    const view = ((await resource.json()) as Json).result;
    expect(view.sent).toBe(true);
    const file = await fetch(`${url}${view.url}`);
    expect(file.status).toBe(200);
    expect(file.headers.get('content-type')).toBe('image/jpeg');
    expect(file.headers.get('x-content-type-options')).toBe('nosniff');
    expect(file.headers.get('content-security-policy')).toContain('sandbox');
    expect(file.headers.get('content-disposition')).toMatch(/^inline; filename="holiday.jpg"/);
    const served = Buffer.from(await file.arrayBuffer());
    const servedMeta = await sharp(served).metadata();
    expect(servedMeta).toMatchObject({ width: 800, height: 600, format: 'jpeg' });
    expect(servedMeta.exif).toBeUndefined();
    expect(served.includes('EXIF-MARKER-16')).toBe(false);

    const thumb = await fetch(`${url}${view.thumbnail_url}`);
    expect(thumb.headers.get('content-type')).toBe('image/webp');
    const thumbMeta = await sharp(Buffer.from(await thumb.arrayBuffer())).metadata();
    expect(Math.max(thumbMeta.width!, thumbMeta.height!)).toBe(320);

    // A range, as a player seeking asks.
    const part = await fetch(`${url}${view.url}`, { headers: { range: 'bytes=10-19' } });
    expect(part.status).toBe(206);
    expect(part.headers.get('content-range')).toBe(`bytes 10-19/${served.length}`);
    expect(Buffer.from(await part.arrayBuffer()).equals(served.subarray(10, 20))).toBe(true);

    // Someone else is told nothing about it.
    const outsider = await api('carol', `/attachments/${attachment.attachment_id}`);
    expect(outsider.status).toBe(404);
    expect(outsider.headers.get('x-mercurio-error')).toBe('attachment_not_found');
  });

  it('a PDF: a file message, served as a download to the participants', async () => {
    const upload = await uploadMultipart(url, tokens.bob!, stack.app, 'alice', {
      name: '../../etc/report.pdf',
      bytes: PDF,
      type: 'application/pdf',
    });
    expect(upload.status, JSON.stringify(upload.body)).toBe(201);
    const attachment = upload.body.result;
    expect(attachment).toMatchObject({
      type: 'file',
      thumbnail_url: null,
      metadata: { name: 'report.pdf', type: 'application/pdf', size: PDF.length },
    });
    await bob.publish(stack.outgoing('bob', 'alice'), {
      text: 'report.pdf',
      type: 'file',
      metadata: { attachment_id: attachment.attachment_id },
    });
    const copy = await alice.waitFor((m) => added('alice', 'bob')(m) && m.payload.text === 'report.pdf');
    expect(copy.payload).toMatchObject({
      type: 'file',
      metadata: { type: 'application/pdf', name: 'report.pdf' },
    });
    // Alice follows the redirect a plain link would.
    const link = await api('alice', `/attachments/${attachment.attachment_id}?redirect=original`, {
      redirect: 'manual',
    });
    expect(link.status).toBe(302);
    const file = await fetch(`${url}${link.headers.get('location')}`);
    expect(file.headers.get('content-disposition')).toMatch(/^attachment; filename="report.pdf"/);
    expect(Buffer.from(await file.arrayBuffer()).equals(PDF)).toBe(true);
  });

  it('an SVG with a script, allowed as XML, is served as a download that cannot run', async () => {
    const upload = await uploadMultipart(url, tokens.alice!, stack.app, 'bob', {
      name: 'logo.svg',
      bytes: SVG_WITH_SCRIPT,
      type: 'image/svg+xml',
    });
    expect(upload.status, JSON.stringify(upload.body)).toBe(201);
    expect(upload.body.result).toMatchObject({
      type: 'file',
      thumbnail_url: null,
      metadata: { type: 'application/xml' },
    });
    const file = await fetch(`${url}${upload.body.result.url}`);
    expect(file.headers.get('content-type')).toBe('application/xml');
    expect(file.headers.get('content-disposition')).toMatch(/^attachment; filename="logo.svg"/);
    expect(file.headers.get('x-content-type-options')).toBe('nosniff');
    expect(file.headers.get('content-security-policy')).toMatch(/default-src 'none'.*sandbox/);
    // Its uploader's own, unsent: nobody else sees it; the sweep removes it below.
    expect((await api('bob', `/attachments/${upload.body.result.attachment_id}`)).status).toBe(404);
  });

  it('orphans (uploaded, never sent) are swept with their blobs and thumbnails; sent ones stay; a message’s attachments go with it', async () => {
    const before = await blobKeys(stack.config);
    const orphan = (
      await uploadMultipart(url, tokens.alice!, stack.app, 'bob', {
        name: 'o.jpg',
        bytes: await jpegWithExif(40, 30),
      })
    ).body.result;
    expect(await blobKeys(stack.config)).toEqual(
      [...before, orphan.attachment_id, `${orphan.attachment_id}.thumb`].sort(),
    );
    // Older than MERCURIO_ATTACHMENT_ORPHAN_SECONDS (1 s).
    await new Promise((resolve) => setTimeout(resolve, 1100));
    // This one and the SVG of the test before.
    const removed = await stack.router!.attachments.sweepOrphans();
    expect(removed).toBe(2);
    const { rows } = await stack.sql.query(
      'SELECT attachment_id, message_id, has_thumbnail FROM attachments WHERE app_id = $1',
      [stack.app],
    );
    expect(rows).toHaveLength(2);
    // What is left is exactly the sent image (and its thumbnail) and the sent PDF.
    const sentKeys = rows.flatMap((row: Json) =>
      row.has_thumbnail ? [row.attachment_id, `${row.attachment_id}.thumb`] : [row.attachment_id],
    );
    expect(await blobKeys(stack.config)).toEqual(sentKeys.sort());
    expect(before).toEqual(expect.arrayContaining(sentKeys));
    expect(rows.every((row: { message_id: string | null }) => row.message_id !== null)).toBe(true);
    expect(await stagedFiles(stack.config)).toEqual([]);

    // Alice's image deleted for everyone by her: its file and thumbnail go with it, Bob's PDF stays.
    type Row = { attachment_id: string; message_id: string; has_thumbnail: boolean };
    const deleted = (rows as Row[]).find((row) => row.has_thumbnail);
    const kept = (rows as Row[]).find((row) => !row.has_thumbnail);
    await alice.publish(stack.topic('users', 'alice', 'messages', 'bob', deleted!.message_id, 'delete'), {
      for: 'everyone',
    });
    await bob.waitFor(
      (m) =>
        m.topic === stack.topic('users', 'bob', 'messages', 'alice', deleted!.message_id, 'clientupdated') &&
        (m.payload as { change?: string }).change === 'deleted',
    );
    await until(
      async () => !(await blobKeys(stack.config)).includes(deleted!.attachment_id),
      'the deleted image’s blob removed',
    );
    const keptKeys = kept!.has_thumbnail
      ? [kept!.attachment_id, `${kept!.attachment_id}.thumb`]
      : [kept!.attachment_id];
    expect(await blobKeys(stack.config)).toEqual(keptKeys.sort());
    expect((await api('bob', `/attachments/${deleted!.attachment_id}`)).status).toBe(404);

    // Erasure and the retention purge call this for the messages they remove.
    expect(await stack.router!.attachments.removeForMessages(stack.app, [kept!.message_id])).toBe(1);
    expect(await blobKeys(stack.config)).toEqual([]);
    const gone = await api('alice', `/attachments/${kept!.attachment_id}`);
    expect(gone.status).toBe(404);
  });
}
