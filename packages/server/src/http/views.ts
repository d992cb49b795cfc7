import { type MessageCopy, MessageStatus, type MessageStatusCode } from '@mercurio/protocol';
import { MercurioError } from '../errors.js';
import type { StoredMessage } from '../store/types.js';
import { messageCopy } from '../views.js';

/** Read watermarks needed to give each history copy the status its owner's inbox would show. */
export interface ReadState {
  viewer: string;
  /** The viewer's read watermark. */
  viewerReadSeq: number;
  /** Direct conversations: the other user's watermark (their receipt makes the sender's copy 250). */
  peerReadSeq: number;
}

/** A stored message as the viewer's copy: Chat21's 100/150 plus receipts (200/250) from the watermarks. */
export function historyCopy(message: StoredMessage, reads: ReadState): MessageCopy {
  return messageCopy(message, copyStatus(message, reads), reads.viewer);
}

function copyStatus(message: StoredMessage, reads: ReadState): MessageStatusCode {
  const own = message.sender === reads.viewer;
  if (message.channelType === 'direct' && own && message.recipient !== reads.viewer) {
    return reads.peerReadSeq >= message.seq ? MessageStatus.RETURN_RECEIPT : MessageStatus.SENT;
  }
  if (own) return message.channelType === 'direct' ? MessageStatus.SENT : MessageStatus.DELIVERED;
  return reads.viewerReadSeq >= message.seq ? MessageStatus.RECEIVED : MessageStatus.DELIVERED;
}

/** Opaque conversation-list cursor: the last row's (updatedAt, conversWith). */
export function encodeCursor(updatedAt: number, conversWith: string): string {
  return Buffer.from(JSON.stringify([updatedAt, conversWith])).toString('base64url');
}

export function decodeCursor(cursor: string): { updatedAt: number; conversWith: string } {
  try {
    const value: unknown = JSON.parse(Buffer.from(cursor, 'base64url').toString('utf8'));
    if (Array.isArray(value) && Number.isSafeInteger(value[0]) && typeof value[1] === 'string') {
      return { updatedAt: value[0] as number, conversWith: value[1] };
    }
  } catch {
    // falls through to the refusal
  }
  throw new MercurioError('invalid_request', 'cursor is not a cursor returned by this API');
}

/** Makes a search snippet safe to show as HTML: the text escaped, matches in <mark>. */
export function snippetHtml(snippet: string, start: string, end: string): string {
  const escaped = snippet.replace(/[&<>"']/g, (char) => `&#${char.charCodeAt(0)};`);
  return escaped.replaceAll(start, '<mark>').replaceAll(end, '</mark>');
}
