import { randomUUID } from 'node:crypto';
import { rm } from 'node:fs/promises';
import type { IncomingMessage } from 'node:http';
import { join } from 'node:path';
import { FileStore } from '@tus/file-store';
import { Server } from '@tus/server';
import type { Attachments } from '../../attachments/attachments.js';
import { isMercurioError, MercurioError } from '../../errors.js';
import type { Logger } from '../../logger.js';

/** Who started an upload, where: kept in the upload's own metadata (its `.json` in the staging folder). */
export interface UploadClaim {
  app: string;
  owner: string;
  conversationKey: string;
  name: string;
}

/**
 * Resumable uploads (tus 1.0, @tus/server): the bytes go to the staging folder
 * (`<data dir>/uploads`), and once complete are checked and stored like any upload
 * (Attachments.accept); the final PATCH answers with the attachment. The upload's id is the
 * attachment's id. Incomplete uploads expire after MERCURIO_ATTACHMENT_ORPHAN_SECONDS.
 * Staging is per process: a load balancer must send one upload's requests to one process.
 */
export class TusUploads {
  readonly server: Server;
  readonly #store: FileStore;
  readonly #claims = new WeakMap<object, UploadClaim>();

  constructor(
    attachments: Attachments,
    http: { basePath: string; corsOrigins: readonly string[] | '*' },
    log: Logger,
  ) {
    const { basePath, corsOrigins } = http;
    const directory = attachments.settings.stagingDir;
    this.#store = new FileStore({
      directory,
      expirationPeriodInMilliseconds: attachments.settings.orphanSeconds * 1000,
    });
    this.server = new Server({
      path: `${basePath}/v1/apps/uploads`,
      datastore: this.#store,
      namingFunction: () => randomUUID(),
      // Every app's path is its own: /v1/apps/<app>/uploads/<id>.
      generateUrl: (req, { proto, host, id }) => {
        const app = /\/v1\/apps\/([^/]+)\/uploads/.exec(new URL(req.url).pathname)?.[1] ?? '';
        return `${proto}://${host}${basePath}/v1/apps/${app}/uploads/${id}`;
      },
      getFileIdFromRequest: (req) => /\/uploads\/([0-9a-f-]{36})$/.exec(new URL(req.url).pathname)?.[1],
      maxSize: (req) => {
        const claim = this.#claimOf(req);
        return claim ? attachments.maxBytes(claim.app) : attachments.settings.defaults.maxBytes;
      },
      respectForwardedHeaders: false,
      // The API's CORS origins (tus answers its own requests, past Fastify's CORS plugin).
      allowedOrigins: corsOrigins === '*' ? undefined : (origin) => corsOrigins.includes(origin),
      onUploadCreate: async (req, upload) => {
        const claim = this.#claimOf(req);
        if (!claim) throw { status_code: 403, body: 'no claim' };
        // The client's metadata is kept (its file name); who and where are the server's word.
        return {
          metadata: {
            ...upload.metadata,
            mercurio_app: claim.app,
            mercurio_owner: claim.owner,
            mercurio_conversation: claim.conversationKey,
          },
        };
      },
      onUploadFinish: async (_req, upload) => {
        const metadata = upload.metadata ?? {};
        const path = join(directory, upload.id);
        try {
          const record = await attachments.accept({
            app: metadata.mercurio_app ?? '',
            owner: metadata.mercurio_owner ?? '',
            conversationKey: metadata.mercurio_conversation ?? '',
            attachmentId: upload.id,
            name: metadata.filename ?? metadata.name ?? 'file',
            path,
            size: upload.size ?? upload.offset,
          });
          return {
            status_code: 200,
            headers: { 'content-type': 'application/json' },
            body: JSON.stringify({ success: true, result: attachments.view(record) }),
          };
        } catch (error) {
          if (!isMercurioError(error))
            log.error({ err: error, upload: upload.id }, 'upload processing failed');
          const refusal = isMercurioError(error)
            ? error
            : new MercurioError('internal_error', 'the upload could not be stored');
          throw {
            status_code: refusal.httpStatus,
            body: JSON.stringify({ success: false, err: { code: refusal.code, message: refusal.message } }),
          };
        } finally {
          // Stored or refused, the staged upload is done with (accept removed its bytes).
          await rm(path, { force: true });
          await rm(`${path}.json`, { force: true });
        }
      },
    });
  }

  #claimOf(req: { runtime?: { node?: { req?: object } | undefined } | undefined }): UploadClaim | undefined {
    const raw = req.runtime?.node?.req;
    return raw ? this.#claims.get(raw) : undefined;
  }

  /** Hands a creation request to tus with what the route checked (the caller, the conversation). */
  async create(raw: IncomingMessage, claim: UploadClaim, respond: () => Promise<void>): Promise<void> {
    this.#claims.set(raw, claim);
    await respond();
  }

  /**
   * The staged upload's claim, if `owner` started it in `app`; anything else (none, another
   * user's, another app's, finished) is `attachment_not_found`.
   */
  async ownedUpload(app: string, owner: string, id: string): Promise<void> {
    let metadata: Record<string, string | null> | undefined;
    try {
      metadata = (await this.#store.getUpload(id)).metadata;
    } catch {
      metadata = undefined;
    }
    if (!metadata || metadata.mercurio_app !== app || metadata.mercurio_owner !== owner) {
      throw new MercurioError('attachment_not_found', `no upload ${id} of yours`);
    }
  }

  /** Removes incomplete uploads older than their expiry (the orphan sweep calls it). */
  async removeExpired(): Promise<number> {
    return this.#store.deleteExpired();
  }
}
