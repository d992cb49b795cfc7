import { createReadStream } from 'node:fs';
import { readdir, rm, stat } from 'node:fs/promises';
import { basename, join } from 'node:path';
import { checkId, conversationKindOf, userIdProblem } from '@mercurio/protocol';
import { MercurioError } from '../errors.js';
import type { Logger } from '../logger.js';
import type { AttachmentRecord, AttachmentStore } from '../store/attachment-store.js';
import type { GroupRecord } from '../store/types.js';
import { conversationKey } from '../store/types.js';
import type { BlobRead, BlobStore, ByteRange } from './blob-store.js';
import { detectType, isProcessedImage } from './file-types.js';
import { processImage } from './images.js';
import { type AttachmentSettings, limitsFor } from './settings.js';
import { type FileVariant, UrlSigner } from './signed-urls.js';

export interface AttachmentDeps {
  store: AttachmentStore;
  blobs: BlobStore;
  groups: { getGroup(app: string, groupId: string): Promise<GroupRecord | null> };
  settings: AttachmentSettings;
  jwtSecret: string;
  log: Logger;
  now: () => number;
}

/** A file received in full in the staging folder, to be checked, processed and stored. */
export interface StagedUpload {
  app: string;
  attachmentId: string;
  owner: string;
  conversationKey: string;
  /** The name the client gave; only shown, never used as a path. */
  name: string;
  path: string;
  size: number;
}

/** Chat21's `metadata` of an image or file message, plus Mercurio's `attachment_id`. */
export interface AttachmentMetadata {
  src: string;
  width?: number;
  height?: number;
  name: string;
  type: string;
  size: number;
  attachment_id: string;
}

const MAX_NAME_LENGTH = 200;

/** The blob keys of an attachment: its bytes, and its thumbnail if it has one. */
export function blobKeys(record: Pick<AttachmentRecord, 'attachmentId' | 'hasThumbnail'>): string[] {
  return record.hasThumbnail ? [record.attachmentId, `${record.attachmentId}.thumb`] : [record.attachmentId];
}

/** A name to show: no folders, no control characters, not too long; never empty. */
export function displayName(name: string | undefined): string {
  const cleaned = basename((name ?? '').replaceAll('\\', '/'))
    .replace(/[\p{Cc}\p{Cf}]/gu, '')
    .trim()
    .slice(0, MAX_NAME_LENGTH);
  return cleaned === '' || cleaned === '.' || cleaned === '..' ? 'file' : cleaned;
}

/**
 * Attachments end to end, on any blob store: who may upload where, the checks and processing
 * of an upload (type from the bytes, allow-list, size, images), who may fetch, signed URLs, and
 * removal (a message's attachments, orphans).
 */
export class Attachments {
  readonly #deps: AttachmentDeps;
  readonly signer: UrlSigner;

  constructor(deps: AttachmentDeps) {
    this.#deps = deps;
    this.signer = new UrlSigner(deps.jwtSecret);
  }

  get settings(): AttachmentSettings {
    return this.#deps.settings;
  }

  get blobs(): BlobStore {
    return this.#deps.blobs;
  }

  get store(): AttachmentStore {
    return this.#deps.store;
  }

  /**
   * The conversation `uploader` may upload into: a direct one with `recipient` (anyone may write
   * to anyone, as Chat21), or a group they are a member of. Refused otherwise, before any byte is kept.
   */
  async conversationFor(
    app: string,
    uploader: string,
    recipient: string,
    channelType?: string,
  ): Promise<string> {
    const id = checkId(recipient, 'recipient_id');
    if (!id.ok) throw new MercurioError('invalid_id', id.reason);
    const kind = conversationKindOf(channelType === 'group' ? 'group' : undefined, recipient);
    if (kind === 'group') {
      const group = await this.#deps.groups.getGroup(app, recipient);
      if (!group) throw new MercurioError('group_not_found', `group ${recipient} does not exist`);
      if (!group.members.includes(uploader)) {
        throw new MercurioError('not_a_member', `${uploader} is not a member of group ${recipient}`);
      }
      return conversationKey('group', recipient);
    }
    const problem = userIdProblem(recipient);
    if (problem) throw new MercurioError('reserved_id', problem);
    return conversationKey('direct', uploader, recipient);
  }

  /** Refuses a declared size over the app's limit (before receiving it: tus, Content-Length). */
  checkSize(app: string, size: number): void {
    const { maxBytes } = limitsFor(this.#deps.settings, app);
    if (size > maxBytes) {
      throw new MercurioError('attachment_too_large', `the file is ${size} bytes; the limit is ${maxBytes}`);
    }
  }

  maxBytes(app: string): number {
    return limitsFor(this.#deps.settings, app).maxBytes;
  }

  /**
   * Checks and stores a complete upload: the size, the type detected from its bytes against the
   * app's allow-list, and for an image its declared pixel count (before decoding), then its
   * served copy (without metadata), thumbnail and placeholder. The blobs are written before the
   * row, and the row before any message may name it. On refusal or failure nothing is left:
   * neither blob nor row; the staged files are always removed.
   */
  async accept(upload: StagedUpload): Promise<AttachmentRecord> {
    const { settings, blobs, store, now } = this.#deps;
    const written: string[] = [];
    try {
      this.checkSize(upload.app, upload.size);
      const type = await detectType(upload.path);
      const allowed = limitsFor(settings, upload.app).types;
      if (!allowed.includes(type)) {
        throw new MercurioError('attachment_type_not_allowed', `files of type ${type} are not allowed here`);
      }
      const record: AttachmentRecord = {
        app: upload.app,
        attachmentId: upload.attachmentId,
        owner: upload.owner,
        conversationKey: upload.conversationKey,
        name: displayName(upload.name),
        contentType: type,
        sizeBytes: upload.size,
        width: null,
        height: null,
        hasThumbnail: false,
        placeholder: null,
        messageId: null,
        createdAt: now(),
        sentAt: null,
      };
      if (isProcessedImage(type)) {
        const image = await processImage(upload.path, type, settings);
        written.push(upload.attachmentId);
        await blobs.put(upload.attachmentId, createReadStream(image.servedPath), image.servedSize);
        written.push(`${upload.attachmentId}.thumb`);
        await blobs.put(
          `${upload.attachmentId}.thumb`,
          createReadStream(image.thumbnailPath),
          image.thumbnailSize,
        );
        Object.assign(record, {
          sizeBytes: image.servedSize,
          width: image.width,
          height: image.height,
          hasThumbnail: true,
          placeholder: image.placeholder,
        });
      } else {
        written.push(upload.attachmentId);
        await blobs.put(upload.attachmentId, createReadStream(upload.path), upload.size);
      }
      await store.insertAttachment(record);
      return record;
    } catch (error) {
      if (written.length > 0) await blobs.delete(written).catch(() => {});
      throw error;
    } finally {
      await Promise.all(
        [upload.path, `${upload.path}.served`, `${upload.path}.thumb`].map((path) =>
          rm(path, { force: true }),
        ),
      );
    }
  }

  /**
   * Who may fetch: its uploader; once sent, the participants of its conversation (both users of
   * a direct one, the group's current members); an admin of the app.
   */
  async canFetch(record: AttachmentRecord, user: string, admin: boolean): Promise<boolean> {
    if (admin || record.owner === user) return true;
    if (record.messageId === null) return false;
    const [kind, a, b] = record.conversationKey.split('/');
    if (kind === 'd') return user === a || user === b;
    if (kind === 'g' && a) {
      const group = await this.#deps.groups.getGroup(record.app, a);
      return group?.members.includes(user) ?? false;
    }
    return false;
  }

  /** The attachment if `user` may fetch it; `attachment_not_found` otherwise (never told apart). */
  async fetchable(
    app: string,
    attachmentId: string,
    user: string,
    admin: boolean,
  ): Promise<AttachmentRecord> {
    const record = await this.#deps.store.getAttachment(app, attachmentId);
    if (!record || !(await this.canFetch(record, user, admin))) {
      throw new MercurioError('attachment_not_found', `no attachment ${attachmentId} you may fetch`);
    }
    return record;
  }

  /** `src` in messages: the API resource, which answers participants with signed URLs. */
  sourceOf(record: Pick<AttachmentRecord, 'app' | 'attachmentId'>): string {
    return `${this.#deps.settings.publicBaseUrl}/v1/apps/${record.app}/attachments/${record.attachmentId}`;
  }

  /** Chat21's metadata for a message sending this attachment; every value the server's own. */
  metadataOf(record: AttachmentRecord): AttachmentMetadata {
    return {
      src: this.sourceOf(record),
      ...(record.width !== null && record.height !== null
        ? { width: record.width, height: record.height }
        : {}),
      name: record.name,
      type: record.contentType,
      size: record.sizeBytes,
      attachment_id: record.attachmentId,
    };
  }

  /** A signed, short-lived URL of the file or its thumbnail. */
  signedUrl(
    record: Pick<AttachmentRecord, 'app' | 'attachmentId'>,
    variant: FileVariant,
  ): { url: string; expiresAt: number } {
    const expires = Math.floor(this.#deps.now() / 1000) + this.#deps.settings.urlTtlSeconds;
    const query = this.signer.sign(record.app, record.attachmentId, variant, expires);
    return {
      url: `${this.#deps.settings.publicBaseUrl}/v1/files/${record.app}/${record.attachmentId}/${variant}?${query}`,
      expiresAt: expires * 1000,
    };
  }

  /** What the API answers about an attachment: the message shape, and URLs to fetch it now. */
  view(record: AttachmentRecord): Record<string, unknown> {
    const original = this.signedUrl(record, 'original');
    return {
      attachment_id: record.attachmentId,
      type: record.hasThumbnail ? 'image' : 'file',
      metadata: this.metadataOf(record),
      placeholder: record.placeholder,
      sent: record.messageId !== null,
      message_id: record.messageId,
      created_at: record.createdAt,
      url: original.url,
      thumbnail_url: record.hasThumbnail ? this.signedUrl(record, 'thumbnail').url : null,
      expires_at: original.expiresAt,
    };
  }

  async read(record: AttachmentRecord, variant: FileVariant, range?: ByteRange): Promise<BlobRead | null> {
    if (variant === 'thumbnail' && !record.hasThumbnail) return null;
    return this.#deps.blobs.get(
      variant === 'thumbnail' ? `${record.attachmentId}.thumb` : record.attachmentId,
      range,
    );
  }

  /**
   * Removes the attachments of these messages, rows then blobs and thumbnails: for
   * delete-for-everyone and the data owner's erasure. Returns how many attachments were removed.
   */
  async removeForMessages(app: string, messageIds: readonly string[]): Promise<number> {
    const removed = await this.#deps.store.deleteForMessages(app, messageIds);
    await this.#deleteBlobs(removed);
    return removed.length;
  }

  /** Removes uploads never sent within MERCURIO_ATTACHMENT_ORPHAN_SECONDS; returns how many. */
  async sweepOrphans(batch = 100): Promise<number> {
    const before = this.#deps.now() - this.#deps.settings.orphanSeconds * 1000;
    let total = 0;
    for (;;) {
      const removed = await this.#deps.store.deleteOrphans(before, batch);
      await this.#deleteBlobs(removed);
      total += removed.length;
      if (removed.length < batch) return total;
    }
  }

  /**
   * Removes staged uploads (tus uploads never finished, files of a crashed process) untouched for
   * MERCURIO_ATTACHMENT_ORPHAN_SECONDS; returns how many files.
   */
  async sweepStaging(): Promise<number> {
    const dir = this.#deps.settings.stagingDir;
    const before = this.#deps.now() - this.#deps.settings.orphanSeconds * 1000;
    let names: string[];
    try {
      names = await readdir(dir);
    } catch {
      return 0;
    }
    let removed = 0;
    for (const name of names) {
      const path = join(dir, name);
      const modified = await stat(path).then(
        (s) => s.mtimeMs,
        () => Number.POSITIVE_INFINITY,
      );
      if (modified < before) {
        await rm(path, { force: true });
        removed++;
      }
    }
    return removed;
  }

  async #deleteBlobs(records: readonly AttachmentRecord[]): Promise<void> {
    // The rows are gone: a blob whose delete fails is unreachable, and only costs space.
    const keys = records.flatMap(blobKeys);
    if (keys.length === 0) return;
    await this.#deps.blobs.delete(keys).catch((error: unknown) => {
      this.#deps.log.warn({ err: error, keys: keys.length }, 'attachment blobs not deleted');
    });
  }
}
