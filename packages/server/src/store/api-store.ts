import type { RouterStore } from './router-store.js';
import type { ConversationRecord, GroupRecord, StoredMessage } from './types.js';

/**
 * What the HTTP API reads, and group administration (a part of `Store`). It shares the router's
 * reads of conversations, groups and presence, and its group creation.
 */
export interface ApiStore
  extends Pick<RouterStore, 'getConversation' | 'getGroup' | 'createGroupIfAbsent' | 'getPresence'> {
  listConversations(app: string, owner: string, page: ConversationPage): Promise<ConversationRecord[]>;
  /** The caller's conversation row and how far they may read it; null when they have none. */
  conversationReader(app: string, owner: string, conversWith: string): Promise<ConversationReader | null>;
  messageHistory(app: string, conversationKey: string, query: HistoryQuery): Promise<StoredMessage[]>;
  searchMessages(app: string, user: string, query: SearchQuery): Promise<SearchHit[]>;
  // Membership and name changes: only with their notifications, in GroupAdminStore (group-admin-store.ts).
  deleteGroupConversations(app: string, groupId: string): Promise<number>;
  deleteGroupMessages(app: string, groupId: string): Promise<number>;
  saveInstance(instance: DeviceInstance): Promise<void>;
}

export interface ConversationPage {
  archived: boolean;
  limit: number;
  /** Continue after this row of the previous page (exclusive). */
  after?: { updatedAt: number; conversWith: string } | undefined;
}

export interface ConversationReader {
  conversation: ConversationRecord;
  /** The last seq the owner may read (they left the group then); null = everything. */
  visibleUntilSeq: number | null;
}

export interface HistoryQuery {
  /** Whose view: messages hidden from them (attributes.hiddenFor) are left out. */
  viewer: string;
  limit: number;
  /** Newest first, seq < before. */
  before?: number | undefined;
  /** Oldest first, seq > after. */
  after?: number | undefined;
  /** Nothing after this seq. */
  maxSeq?: number | null | undefined;
  /**
   * A seq the client has seen in this conversation (so it exists): a read replica that has not
   * replayed it yet must not answer (store/replica-reads.ts). `after` and `before` count alike.
   */
  minSeq?: number | undefined;
}

export interface SearchQuery {
  /** websearch_to_tsquery syntax: words, "a phrase", -excluded, or. */
  text: string;
  /** Only this conversation of the user. */
  conversWith?: string | undefined;
  limit: number;
}

export interface SearchHit {
  message: StoredMessage;
  /** The conversation as the searching user sees it. */
  conversWith: string;
  rank: number;
  /** The text around the best match (up to ~35 words), matches between MATCH_START and MATCH_END. */
  snippet: string;
}

/** The marks around matches in a search hit's snippet; never in a message's text. */
export const MATCH_START = '\u0001';
export const MATCH_END = '\u0002';

export interface GroupMembersChange {
  group: GroupRecord;
  /** Members actually added / removed (already present / absent ones are not listed). */
  added: string[];
  removed: string[];
}

export interface GroupPatch {
  name?: string | undefined;
  /** Replaces the attributes object (Chat21 semantics); null clears it. */
  attributes?: Record<string, unknown> | null | undefined;
}

export interface DeviceInstance {
  app: string;
  user: string;
  instanceId: string;
  deviceModel: string | null;
  language: string | null;
  platform: string | null;
  platformVersion: string | null;
  updatedAt: number;
}
