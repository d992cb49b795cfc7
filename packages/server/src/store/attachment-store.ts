/** An uploaded file as the attachments table holds it (migration 012). */
export interface AttachmentRecord {
  app: string;
  attachmentId: string;
  owner: string;
  /** The conversation it was uploaded into (`d/<a>/<b>` or `g/<group>`, store/types.ts). */
  conversationKey: string;
  name: string;
  /** Detected from the bytes. */
  contentType: string;
  sizeBytes: number;
  width: number | null;
  height: number | null;
  hasThumbnail: boolean;
  placeholder: string | null;
  /** The message that sent it; null while unsent. */
  messageId: string | null;
  createdAt: number;
  sentAt: number | null;
}

/** The attachments table, as the upload service, the file routes and the router see it. */
export interface AttachmentStore {
  insertAttachment(record: AttachmentRecord): Promise<void>;
  getAttachment(app: string, attachmentId: string): Promise<AttachmentRecord | null>;
  getAttachments(app: string, attachmentIds: readonly string[]): Promise<AttachmentRecord[]>;
  /** Deletes the rows of these messages' attachments; returns what was deleted (its blobs go next). */
  deleteForMessages(app: string, messageIds: readonly string[]): Promise<AttachmentRecord[]>;
  /** Deletes up to `limit` unsent rows created before `before`; returns them (their blobs go next). */
  deleteOrphans(before: number, limit: number): Promise<AttachmentRecord[]>;
}
