import type { ApiStore } from './api-store.js';
import * as groupsAdmin from './groups-admin-sql.js';
import * as history from './history-sql.js';
import { searchMessages } from './search-sql.js';
import type { SqlDatabase } from './sql.js';

type ApiSqlStore = Omit<ApiStore, 'getConversation' | 'getGroup' | 'createGroupIfAbsent' | 'getPresence'>;

/** The HTTP API's own reads and group administration on SQL (the shared reads are in sql-store.ts). */
export function createApiSqlStore(db: SqlDatabase): ApiSqlStore {
  return {
    listConversations: (app, owner, page) => history.listConversations(db, app, owner, page),
    conversationReader: (app, owner, conversWith) => history.conversationReader(db, app, owner, conversWith),
    messageHistory: (app, key, query) => history.messageHistory(db, app, key, query),
    searchMessages: (app, user, query) => searchMessages(db, app, user, query),
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
