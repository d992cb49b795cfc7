import type { AttachmentMetadata } from '../attachments/attachments.js';
import { MercurioError } from '../errors.js';
import type { AttachmentRecord } from '../store/attachment-store.js';
import type { NewMessage } from '../store/types.js';

/** What the router needs of the attachments: their rows, and the metadata a message shows. */
export interface MessageAttachments {
  store: { getAttachments(app: string, ids: readonly string[]): Promise<AttachmentRecord[]> };
  metadataOf(record: AttachmentRecord): AttachmentMetadata;
  /**
   * Removes these messages' attachments (rows, then blobs and thumbnails); resolves with how many.
   * For a message deleted for everyone: call it after the deletion committed.
   */
  removeForMessages(app: string, messageIds: readonly string[]): Promise<number>;
}

const isObject = (value: unknown): value is Record<string, unknown> =>
  typeof value === 'object' && value !== null && !Array.isArray(value);

/**
 * A message sending an attachment names it in Chat21's shape (`type: "image"|"file"`,
 * `metadata: {src, width, height, name, type, size, attachment_id}`). The attachment must have
 * been uploaded by this sender into this conversation and not sent with another message; then
 * the message's `type` and `metadata` are the server's own (the type detected from the bytes, the
 * real size, the served `src`), whatever the client wrote, and the attachment is marked sent in
 * the message's own transaction (NewMessage.attachmentIds). A message without `attachment_id`
 * is unchanged (Chat21's free-form metadata, e.g. an image URL elsewhere).
 */
export async function withAttachments(
  attachments: MessageAttachments | undefined,
  message: NewMessage,
): Promise<NewMessage> {
  const metadata = message.body.metadata;
  if (!isObject(metadata) || !('attachment_id' in metadata) || !attachments) return message;
  const id = metadata.attachment_id;
  const refused = () =>
    new MercurioError(
      'attachment_not_found',
      `attachment ${typeof id === 'string' ? id.slice(0, 64) : '?'} was not uploaded by ${message.sender} into this conversation, or was sent with another message`,
    );
  if (typeof id !== 'string' || !/^[0-9a-f-]{36}$/.test(id)) throw refused();
  const [record] = await attachments.store.getAttachments(message.app, [id]);
  if (
    !record ||
    record.owner !== message.sender ||
    record.conversationKey !== message.conversationKey ||
    (record.messageId !== null && record.messageId !== message.messageId)
  ) {
    throw refused();
  }
  return {
    ...message,
    body: {
      ...message.body,
      type: record.hasThumbnail ? 'image' : 'file',
      metadata: attachments.metadataOf(record),
    },
    attachmentIds: [id],
  };
}
