import type { BlockStore } from './block-store.js';
import type { MessageActionStore } from './message-action-store.js';
import type {
  ContentQuery,
  ConversationDelivery,
  ConversationRecord,
  GroupRecord,
  NewMessage,
  OutboxEntry,
  PresenceChange,
  RecordedMessage,
  StoredMessage,
  UserPresence,
} from './types.js';

/**
 * What the router writes and reads (a part of `Store`). Every method is one transaction; writes
 * are idempotent where the router may repeat them after a redelivery.
 */
export interface RouterStore extends MessageActionStore, BlockStore {
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
  /**
   * The most recent message of `sender` in the conversation stored with this content key
   * (NewMessage.contentKey) at `since` or later; null if none.
   */
  findByContent(query: ContentQuery): Promise<StoredMessage | null>;
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
  getPresence(app: string, users: readonly string[]): Promise<UserPresence[]>;
  /** Users with a direct conversation with `user`, most recent first. */
  directPeers(app: string, user: string, limit: number): Promise<string[]>;
}
