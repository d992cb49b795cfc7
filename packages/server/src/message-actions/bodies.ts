import type { MessageEdit } from '@mercurio/protocol';
import { MercurioError } from '../errors.js';
import type { StoredMessage } from '../store/types.js';

/** What a tombstone keeps: the keys a Chat21 client needs to place it and draw it. */
const TOMBSTONE_KEYS = [
  'message_id',
  'sender',
  'sender_fullname',
  'recipient',
  'recipient_fullname',
  'app_id',
  'channel_type',
  'timestamp',
] as const;

/** The body after an edit: the new text (and attributes, metadata, mentions when given), `edited_at`. */
export function editedBody(
  current: StoredMessage,
  edit: MessageEdit,
  mentions: readonly string[] | undefined,
  at: number,
): Record<string, unknown> {
  const body: Record<string, unknown> = { ...current.body, text: edit.text, edited_at: at };
  if (edit.attributes !== undefined) body.attributes = edit.attributes;
  if ('metadata' in edit && edit.metadata !== undefined) body.metadata = edit.metadata;
  if (mentions !== undefined) {
    if (mentions.length > 0) body.mentions = [...mentions];
    else delete body.mentions;
  }
  return body;
}

/** Whether an edit changes nothing a reader sees (a replay of the same edit writes nothing). */
export function sameContent(a: Record<string, unknown>, b: Record<string, unknown>): boolean {
  const content = (body: Record<string, unknown>) =>
    JSON.stringify([body.text, body.attributes ?? null, body.metadata ?? null, body.mentions ?? null]);
  return content(a) === content(b);
}

/** A message deleted for everyone: no text, no attributes, metadata or reactions; `deleted_at`. */
export function tombstoneBody(current: StoredMessage, at: number): Record<string, unknown> {
  const body: Record<string, unknown> = {};
  for (const key of TOMBSTONE_KEYS) if (key in current.body) body[key] = current.body[key];
  return { ...body, type: 'text', text: '', deleted_at: at };
}

/**
 * What a user's conversation entry shows when they hid its last message and see no other: the
 * conversation's names and the time, no text and no message id (so that no later change of the
 * hidden message ever rewrites it back into their entry).
 */
export function hiddenEntryBody(current: StoredMessage): Record<string, unknown> {
  const { message_id: _id, ...kept } = tombstoneBody(current, 0);
  const { deleted_at: _at, ...entry } = kept;
  return { ...entry, hidden: true };
}

/** An edit may not make the message larger than a message may be. */
export function assertStorable(body: Record<string, unknown>, maxBytes: number): void {
  const bytes = Buffer.byteLength(JSON.stringify(body));
  if (bytes > maxBytes) {
    throw new MercurioError(
      'payload_too_large',
      `the edited message is ${bytes} bytes; the limit is ${maxBytes}`,
    );
  }
}
