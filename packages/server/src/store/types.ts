import type { PresenceStatus } from '@mercurio/protocol';

/**
 * The records the store's interfaces speak in (router-store.ts, api-store.ts, webhook-queue.ts,
 * profile-store.ts). Types only, and the one pure rule that keys a conversation: implementations
 * import this file, never the reverse.
 */

export type ChannelType = 'direct' | 'group';

export interface NewMessage {
  app: string;
  messageId: string;
  sender: string;
  recipient: string;
  channelType: ChannelType;
  conversationKey: string;
  /** The message as delivered, without the per-copy `status` and the `seq` assigned here. */
  body: Record<string, unknown>;
  text: string | null;
  createdAt: number;
  /**
   * Only for a message its client sent without a message_id: a hash of its app, sender,
   * conversation and payload bytes, which finds it again when the message is redelivered or resent.
   */
  contentKey?: string;
  /** Participants mentioned by the message: their conversation rows get `mentioned` (issue 15). */
  mentioned?: readonly string[];
  /**
   * The attachments this message sends (their `metadata.attachment_id`): marked sent in the
   * message's own transaction (store/attachments-sql.ts claimAttachments). Not stored on the row.
   */
  attachmentIds?: readonly string[];
}

/** Where to look for an id-less message stored before (RouterStore.findByContent). */
export interface ContentQuery {
  app: string;
  conversationKey: string;
  sender: string;
  contentKey: string;
  since: number;
}

export interface StoredMessage extends NewMessage {
  seq: number;
}

/** One conversation row to update for a new message: the sender's or a recipient's. */
export interface ConversationDelivery {
  owner: string;
  conversWith: string;
  isSender: boolean;
}

export interface RecordedMessage {
  message: StoredMessage;
  /** True when the message was already stored: nothing was written. */
  duplicate: boolean;
  /** Conversations that were archived and are back in their owners' lists because of this message. */
  unarchived: ConversationRecord[];
  /** Owners whose conversation is muted: their webhook events say so (a push service stays silent). */
  muted?: readonly string[];
}

export interface ConversationRecord {
  app: string;
  owner: string;
  conversWith: string;
  conversationKey: string;
  channelType: ChannelType;
  lastSeq: number;
  lastMessage: Record<string, unknown> | null;
  unreadCount: number;
  readSeq: number;
  archived: boolean;
  isNew: boolean;
  /** Mentioned since the owner last read the conversation (issue 15). */
  mentioned?: boolean;
  /** Muted by its owner: new messages do not bump the unread count (data policies). */
  muted?: boolean;
  updatedAt: number;
}

export interface GroupRecord {
  app: string;
  uid: string;
  name: string;
  owner: string;
  members: string[];
  attributes: Record<string, unknown> | null;
  /** Created by an inline group on a message rather than by the API. */
  volatile: boolean;
  createdOn: number;
  updatedOn: number;
}

export interface PresenceChange {
  before: PresenceStatus;
  after: PresenceStatus;
}

export interface UserPresence {
  user: string;
  status: PresenceStatus;
  lastOnline: number | null;
}

/** The key that orders a conversation: both users' ids for a direct one, the group id for a group. */
export function conversationKey(channelType: ChannelType, a: string, b?: string): string {
  if (channelType === 'group') return `g/${a}`;
  const other = b ?? a;
  // `/` cannot occur in an id, so the key is unambiguous.
  return a < other ? `d/${a}/${other}` : `d/${other}/${a}`;
}

/** A webhook event to write with the change it reports, and the endpoints that want it. */
export interface OutboxEntry {
  app: string;
  type: string;
  orderingKey: string;
  payload: Record<string, unknown>;
  endpoints: readonly string[];
}
