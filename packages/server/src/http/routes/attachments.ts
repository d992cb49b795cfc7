import { createWriteStream } from 'node:fs';
import { mkdir, rm } from 'node:fs/promises';
import { join } from 'node:path';
import { pipeline } from 'node:stream/promises';
import multipart from '@fastify/multipart';
import { z } from 'zod';
import type { Attachments } from '../../attachments/attachments.js';
import { MercurioError } from '../../errors.js';
import { fileHeaders, parseRange } from '../attachments/file-response.js';
import { TusUploads } from '../attachments/tus-uploads.js';
import { parseUploadMetadata } from '../attachments/upload-metadata.js';
import { assertApp } from '../auth.js';
import { callerOf, type HttpContext, type ZodApp } from '../context.js';
import { appId, id } from '../schemas.js';

const tags = ['attachments'];
/** Room for the multipart envelope around the file (boundaries, part headers). */
const MULTIPART_OVERHEAD = 64 * 1024;

const uploadQuery = z.object({
  recipient_id: id('recipient id'),
  channel_type: z.enum(['direct', 'group']).optional(),
});
const attachmentParams = z.object({ appid: appId(), attachment_id: z.uuid() });
const fileParams = attachmentParams.extend({ variant: z.enum(['original', 'thumbnail']) });

/**
 * Uploads (multipart for small files, tus for large and resumable ones), the attachment resource
 * (signed URLs for participants), and the signed file URLs themselves. docs/attachments.md.
 */
export function attachmentRoutes(app: ZodApp, ctx: HttpContext, attachments: Attachments): void {
  const tus = new TusUploads(attachments, ctx.settings, ctx.log.child({ component: 'uploads' }));
  const staging = attachments.settings.stagingDir;

  app.register(async (scope) => {
    const routes = scope as ZodApp;
    // Multipart bodies here only; tus PATCH bodies are read by tus itself, not by Fastify.
    await scope.register(multipart);
    scope.addContentTypeParser('application/offset+octet-stream', (_request, _payload, done) => done(null));

    routes.post(
      '/v1/apps/:appid/attachments',
      {
        schema: {
          tags,
          summary: 'Upload a small file (multipart/form-data, one part named `file`) into a conversation',
          description:
            'The uploader must be allowed to write to the conversation (`recipient_id`, `channel_type`). The type ' +
            "is detected from the bytes and checked against the app's allow-list; images get a thumbnail and a " +
            'placeholder. Answers the attachment, with the `metadata` to send in an image or file message.',
          params: z.object({ appid: appId() }),
          querystring: uploadQuery,
        },
      },
      async (request, reply) => {
        const caller = callerOf(request);
        const { appid } = request.params;
        assertApp(caller, appid);
        const conversationKey = await attachments.conversationFor(
          appid,
          caller.uid,
          request.query.recipient_id,
          request.query.channel_type,
        );
        const maxBytes = attachments.maxBytes(appid);
        const declared = Number(request.headers['content-length'] ?? 0);
        if (declared > maxBytes + MULTIPART_OVERHEAD)
          attachments.checkSize(appid, declared - MULTIPART_OVERHEAD);
        if (!request.isMultipart()) {
          throw new MercurioError(
            'unsupported_media_type',
            'upload the file as multipart/form-data (part `file`)',
          );
        }
        const part = await request.file({ limits: { fileSize: maxBytes, files: 1, fields: 0, parts: 1 } });
        if (part?.fieldname !== 'file') {
          throw new MercurioError('invalid_request', 'the multipart body needs one part named `file`');
        }
        const attachmentId = ctx.newId();
        await mkdir(staging, { recursive: true });
        const path = join(staging, `${attachmentId}.multipart`);
        try {
          await pipeline(part.file, createWriteStream(path, { flags: 'wx' }));
          if (part.file.truncated) {
            throw new MercurioError(
              'attachment_too_large',
              `the file is larger than the limit of ${maxBytes} bytes`,
            );
          }
          const record = await attachments.accept({
            app: appid,
            attachmentId,
            owner: caller.uid,
            conversationKey,
            name: part.filename,
            path,
            size: part.file.bytesRead,
          });
          return reply.code(201).send({ success: true, result: attachments.view(record) });
        } finally {
          await rm(path, { force: true });
        }
      },
    );

    // tus: creation (POST) and the upload's own URL (HEAD: offset, PATCH: bytes, DELETE: abandon).
    routes.route({
      method: ['POST', 'OPTIONS'],
      url: '/v1/apps/:appid/uploads',
      schema: {
        tags,
        summary: 'tus: start a resumable upload (Upload-Metadata: recipient_id, channel_type, filename)',
        params: z.object({ appid: appId() }),
      },
      handler: async (request, reply) => {
        if (request.method === 'OPTIONS') {
          reply.hijack();
          return tus.server.handle(request.raw, reply.raw);
        }
        const caller = callerOf(request);
        const { appid } = request.params;
        assertApp(caller, appid);
        const metadata = parseUploadMetadata(request.headers['upload-metadata'] as string | undefined);
        const recipient = metadata.recipient_id;
        if (!recipient) throw new MercurioError('invalid_request', 'Upload-Metadata needs recipient_id');
        const conversationKey = await attachments.conversationFor(
          appid,
          caller.uid,
          recipient,
          metadata.channel_type,
        );
        const length = Number(request.headers['upload-length']);
        if (!Number.isSafeInteger(length) || length < 0) {
          throw new MercurioError(
            'invalid_request',
            'Upload-Length is required (deferred lengths are not accepted)',
          );
        }
        attachments.checkSize(appid, length);
        reply.hijack();
        await tus.create(
          request.raw,
          { app: appid, owner: caller.uid, conversationKey, name: metadata.filename ?? 'file' },
          () => tus.server.handle(request.raw, reply.raw),
        );
      },
    });
    routes.route({
      method: ['HEAD', 'PATCH', 'DELETE'],
      url: '/v1/apps/:appid/uploads/:attachment_id',
      schema: {
        tags,
        summary: 'tus: the upload (HEAD offset, PATCH bytes, DELETE abandon)',
        params: attachmentParams,
      },
      handler: async (request, reply) => {
        const caller = callerOf(request);
        const { appid, attachment_id } = request.params;
        assertApp(caller, appid);
        await tus.ownedUpload(appid, caller.uid, attachment_id);
        reply.hijack();
        await tus.server.handle(request.raw, reply.raw);
      },
    });
  });

  app.get(
    '/v1/apps/:appid/attachments/:attachment_id',
    {
      schema: {
        tags,
        summary: 'An attachment, with short-lived signed URLs of the file and its thumbnail',
        description:
          'For its uploader, and once sent for the participants of its conversation. `redirect=original` or ' +
          '`redirect=thumbnail` answers 302 to the signed URL instead (for clients that can only follow a link).',
        params: attachmentParams,
        querystring: z.object({ redirect: z.enum(['original', 'thumbnail']).optional() }),
      },
    },
    async (request, reply) => {
      const caller = callerOf(request);
      const { appid, attachment_id } = request.params;
      assertApp(caller, appid);
      const record = await attachments.fetchable(appid, attachment_id, caller.uid, caller.admin);
      const { redirect } = request.query;
      if (redirect) {
        if (redirect === 'thumbnail' && !record.hasThumbnail) {
          throw new MercurioError('not_found', 'this attachment has no thumbnail');
        }
        return reply.redirect(attachments.signedUrl(record, redirect).url, 302);
      }
      return { success: true, result: attachments.view(record) };
    },
  );

  app.get(
    '/v1/files/:appid/:attachment_id/:variant',
    {
      config: { public: true },
      schema: {
        tags,
        summary:
          'The file or its thumbnail, by a signed URL (no token: the signature and its expiry are the key)',
        params: fileParams,
        querystring: z.object({ exp: z.string().max(16), sig: z.string().max(128) }),
      },
    },
    async (request, reply) => {
      const { appid, attachment_id, variant } = request.params;
      const nowSeconds = Math.floor(ctx.now() / 1000);
      attachments.signer.verify(
        appid,
        attachment_id,
        variant,
        request.query.exp,
        request.query.sig,
        nowSeconds,
      );
      const record = await attachments.store.getAttachment(appid, attachment_id);
      if (!record) throw new MercurioError('attachment_not_found', 'the attachment was removed');
      const type = variant === 'thumbnail' ? 'image/webp' : record.contentType;
      const range = variant === 'original' ? parseRange(request.headers.range, record.sizeBytes) : undefined;
      fileHeaders(reply, type, record.name, Number(request.query.exp) - nowSeconds);
      if (range === 'unsatisfiable') {
        return reply.code(416).header('content-range', `bytes */${record.sizeBytes}`).send();
      }
      const blob = await attachments.read(record, variant, range);
      if (!blob) throw new MercurioError('attachment_not_found', 'the file was removed');
      if (range) {
        reply
          .code(206)
          .header('content-range', `bytes ${range.start}-${range.end}/${blob.size}`)
          .header('content-length', range.end - range.start + 1);
      } else {
        reply.header('content-length', blob.size);
      }
      return reply.send(blob.body);
    },
  );
}
