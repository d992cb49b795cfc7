import { MercurioError } from '../errors.js';
import type { AttachmentRecord, AttachmentStore } from './attachment-store.js';
import type { SqlDatabase, SqlExecutor } from './sql.js';
import type { NewMessage } from './types.js';

interface AttachmentRow {
  app_id: string;
  attachment_id: string;
  owner: string;
  conversation_key: string;
  name: string;
  content_type: string;
  size_bytes: number | string;
  width: number | null;
  height: number | null;
  has_thumbnail: boolean;
  placeholder: string | null;
  message_id: string | null;
  created_at: number | string;
  sent_at: number | string | null;
}

const COLUMNS = `app_id, attachment_id, owner, conversation_key, name, content_type, size_bytes::float8 AS size_bytes,
  width, height, has_thumbnail, placeholder, message_id, created_at::float8 AS created_at, sent_at::float8 AS sent_at`;

function toRecord(row: AttachmentRow): AttachmentRecord {
  return {
    app: row.app_id,
    attachmentId: row.attachment_id,
    owner: row.owner,
    conversationKey: row.conversation_key,
    name: row.name,
    contentType: row.content_type,
    sizeBytes: Number(row.size_bytes),
    width: row.width,
    height: row.height,
    hasThumbnail: row.has_thumbnail,
    placeholder: row.placeholder,
    messageId: row.message_id,
    createdAt: Number(row.created_at),
    sentAt: row.sent_at === null ? null : Number(row.sent_at),
  };
}

/** The attachments table (migration 012) on PostgreSQL or PGlite. */
export class SqlAttachments implements AttachmentStore {
  readonly #db: SqlDatabase;

  constructor(db: SqlDatabase) {
    this.#db = db;
  }

  async insertAttachment(r: AttachmentRecord): Promise<void> {
    await this.#db.query(
      `INSERT INTO attachments (app_id, attachment_id, owner, conversation_key, name, content_type, size_bytes,
         width, height, has_thumbnail, placeholder, message_id, created_at, sent_at)
       VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, NULL, $12, NULL)`,
      [
        r.app,
        r.attachmentId,
        r.owner,
        r.conversationKey,
        r.name,
        r.contentType,
        r.sizeBytes,
        r.width,
        r.height,
        r.hasThumbnail,
        r.placeholder,
        r.createdAt,
      ],
    );
  }

  async getAttachment(app: string, attachmentId: string): Promise<AttachmentRecord | null> {
    const [record] = await this.getAttachments(app, [attachmentId]);
    return record ?? null;
  }

  async getAttachments(app: string, attachmentIds: readonly string[]): Promise<AttachmentRecord[]> {
    if (attachmentIds.length === 0) return [];
    const { rows } = await this.#db.query<AttachmentRow>(
      `SELECT ${COLUMNS} FROM attachments WHERE app_id = $1 AND attachment_id = ANY($2::text[])`,
      [app, attachmentIds],
    );
    return rows.map(toRecord);
  }

  async deleteForMessages(app: string, messageIds: readonly string[]): Promise<AttachmentRecord[]> {
    if (messageIds.length === 0) return [];
    const { rows } = await this.#db.query<AttachmentRow>(
      `DELETE FROM attachments WHERE app_id = $1 AND message_id = ANY($2::text[]) RETURNING ${COLUMNS}`,
      [app, messageIds],
    );
    return rows.map(toRecord);
  }

  async deleteOrphans(before: number, limit: number): Promise<AttachmentRecord[]> {
    // Row locks make this safe against a router sending one of them at the same moment: whichever
    // commits first wins, and the other finds the row gone (the message is refused) or sent (kept).
    const { rows } = await this.#db.query<AttachmentRow>(
      `DELETE FROM attachments WHERE (app_id, attachment_id) IN (
         SELECT app_id, attachment_id FROM attachments
         WHERE message_id IS NULL AND created_at < $1 ORDER BY created_at LIMIT $2 FOR UPDATE SKIP LOCKED)
       AND message_id IS NULL
       RETURNING ${COLUMNS}`,
      [before, limit],
    );
    return rows.map(toRecord);
  }
}

/**
 * Marks a new message's attachments sent, in the message's own transaction: each must be still
 * unsent (or already this message's, a redelivery), uploaded by its sender into its
 * conversation. Throws `attachment_not_found` otherwise, which rolls the message back.
 */
export async function claimAttachments(tx: SqlExecutor, message: NewMessage): Promise<void> {
  const ids = message.attachmentIds ?? [];
  if (ids.length === 0) return;
  const { rows } = await tx.query<{ attachment_id: string }>(
    `UPDATE attachments SET message_id = $1, sent_at = $2
     WHERE app_id = $3 AND attachment_id = ANY($4::text[]) AND owner = $5 AND conversation_key = $6
       AND (message_id IS NULL OR message_id = $1)
     RETURNING attachment_id`,
    [message.messageId, message.createdAt, message.app, ids, message.sender, message.conversationKey],
  );
  if (rows.length !== new Set(ids).size) {
    throw new MercurioError(
      'attachment_not_found',
      'an attachment of this message was not uploaded by its sender into this conversation, or was sent or removed already',
    );
  }
}
