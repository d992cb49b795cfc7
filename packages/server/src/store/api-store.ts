import * as groupsAdmin from './groups-admin-sql.js';
import * as history from './history-sql.js';
import { searchMessages } from './search-sql.js';
import type { SqlDatabase } from './sql.js';
import type { ConversationRecord, GroupRecord, StoredMessage } from './store.js';

/** The Store's reads and group administration for the HTTP API (a part of `Store`). */
export interface ApiStore {
  listConversations(app: string, owner: string, page: ConversationPage): Promise<ConversationRecord[]>;
  /** The caller's conversation row and how far they may read it; null when they have none. */
  conversationReader(app: string, owner: string, conversWith: string): Promise<ConversationReader | null>;
  messageHistory(app: string, conversationKey: string, query: HistoryQuery): Promise<StoredMessage[]>;
  searchMessages(app: string, user: string, query: SearchQuery): Promise<SearchHit[]>;
  /** Adds and removes members atomically; null when the group does not exist. */
  changeGroupMembers(
    app: string,
    groupId: string,
    change: { add: readonly string[]; remove: readonly string[] },
    at: number,
  ): Promise<GroupMembersChange | null>;
  updateGroup(app: string, groupId: string, patch: GroupPatch, at: number): Promise<GroupRecord | null>;
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
  /** The text around the best match (up to ~35 words), matches between U+0001 and U+0002. */
  snippet: string;
}

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

export function createApiStore(db: SqlDatabase): ApiStore {
  return {
    listConversations: (app, owner, page) => history.listConversations(db, app, owner, page),
    conversationReader: (app, owner, conversWith) => history.conversationReader(db, app, owner, conversWith),
    messageHistory: (app, key, query) => history.messageHistory(db, app, key, query),
    searchMessages: (app, user, query) => searchMessages(db, app, user, query),
    changeGroupMembers: (app, groupId, change, at) =>
      db.transaction((tx) => groupsAdmin.changeGroupMembers(tx, app, groupId, change, at)),
    updateGroup: (app, groupId, patch, at) =>
      db.transaction((tx) => groupsAdmin.updateGroup(tx, app, groupId, patch, at)),
    deleteGroupConversations: (app, groupId) => groupsAdmin.deleteGroupConversations(db, app, groupId),
    deleteGroupMessages: (app, groupId) => groupsAdmin.deleteGroupMessages(db, app, groupId),
    async saveInstance(i) {
      await db.query(
        `INSERT INTO instances (app_id, instance_id, user_id, device_model, language, platform, platform_version, updated_at)
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8)
         ON CONFLICT (app_id, instance_id) DO UPDATE SET user_id = EXCLUDED.user_id,
           device_model = EXCLUDED.device_model, language = EXCLUDED.language, platform = EXCLUDED.platform,
           platform_version = EXCLUDED.platform_version, updated_at = EXCLUDED.updated_at`,
        [i.app, i.instanceId, i.user, i.deviceModel, i.language, i.platform, i.platformVersion, i.updatedAt],
      );
    },
  };
}
