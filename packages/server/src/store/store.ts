import type { PresenceStatus } from '@mercurio/protocol';
import type { WebhookQueue } from '../webhooks/worker.js';
// HTTP API reads and group administration live in api-store.ts.
import type { ApiStore } from './api-store.js';
import type { OutboxEntry } from './outbox-sql.js';
import type { ProfileStore } from './profiles-sql.js';

/**
 * Where messages rest. One implementation per database (PostgreSQL, PGlite), the same SQL.
 * Every method is one transaction; writes are idempotent where the router may repeat them
 * after a redelivery.
 */
export interface Store extends WebhookQueue, ApiStore, ProfileStore {
  /**
   * Stores a message once (idempotent on `messageId` within the app), assigns the next sequence
   * number of its conversation and updates the conversation rows of `deliveries`.
   * Throws MercurioError `message_id_conflict` when the id belongs to another sender.
   * `outbox` names the webhook events to write in the same transaction (not for a duplicate).
   */
  recordMessage(
    message: NewMessage,
    deliveries: readonly ConversationDelivery[],
    outbox?: (recorded: RecordedMessage) => OutboxEntry[],
  ): Promise<RecordedMessage>;
  findMessage(app: string, messageId: string): Promise<StoredMessage | null>;
  /** Advances the reader's read watermark to the message (never backwards) and recounts unread. */
  markRead(
    app: string,
    reader: string,
    conversWith: string,
    seq: number,
    outbox?: readonly OutboxEntry[],
  ): Promise<ConversationRecord | null>;
  /** Applies a client patch; `isNew: false` marks the whole conversation read. Null if no such conversation. */
  patchConversation(
    app: string,
    owner: string,
    conversWith: string,
    patch: { isNew: boolean },
  ): Promise<ConversationRecord | null>;
  setArchived(
    app: string,
    owner: string,
    conversWith: string,
    archived: boolean,
    outbox?: (conversation: ConversationRecord) => OutboxEntry[],
  ): Promise<ConversationRecord | null>;
  getConversation(app: string, owner: string, conversWith: string): Promise<ConversationRecord | null>;

  getGroup(app: string, groupId: string): Promise<GroupRecord | null>;
  /** Creates the group unless one with that id exists; returns the group as stored. */
  createGroupIfAbsent(group: GroupRecord): Promise<{ group: GroupRecord; created: boolean }>;

  /** Records a client of the user going on- or offline; returns the user's status before and after. */
  setPresence(
    app: string,
    user: string,
    clientId: string,
    online: boolean,
    at: number,
    outbox?: (change: PresenceChange) => OutboxEntry[],
  ): Promise<PresenceChange>;
  /** Webhook deliveries of an app by state, for operators and tests. */
  webhookDeliveryCounts(app: string): Promise<Record<'pending' | 'delivered' | 'dead', number>>;
  getPresence(app: string, users: readonly string[]): Promise<UserPresence[]>;
  /** Users with a direct conversation with `user`, most recent first. */
  directPeers(app: string, user: string, limit: number): Promise<string[]>;

  close(): Promise<void>;
}

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
