import * as conversations from './conversations-sql.js';
import * as groups from './groups-sql.js';
import { findMessage, insertMessage, isDuplicateInsert } from './messages-sql.js';
import { migrate } from './migrate.js';
import * as presence from './presence-sql.js';
import type { SqlDatabase } from './sql.js';
import type { Store } from './store.js';

/** The Store on any SQL database speaking PostgreSQL (node-postgres or PGlite). */
export function createSqlStore(db: SqlDatabase): Store {
  return {
    async recordMessage(message, deliveries) {
      try {
        return await db.transaction((tx) => insertMessage(tx, message, deliveries));
      } catch (error) {
        // Two deliveries of one message raced: the loser now finds the winner's row.
        if (!isDuplicateInsert(error)) throw error;
        return db.transaction((tx) => insertMessage(tx, message, deliveries));
      }
    },
    findMessage: (app, messageId) => findMessage(db, app, messageId),
    markRead: (app, reader, conversWith, seq) => conversations.markRead(db, app, reader, conversWith, seq),
    patchConversation: (app, owner, conversWith, patch) =>
      conversations.patchConversation(db, app, owner, conversWith, patch),
    setArchived: (app, owner, conversWith, archived) =>
      conversations.setArchived(db, app, owner, conversWith, archived),
    getConversation: (app, owner, conversWith) => conversations.getConversation(db, app, owner, conversWith),
    directPeers: (app, user, limit) => conversations.directPeers(db, app, user, limit),
    getGroup: (app, groupId) => groups.getGroup(db, app, groupId),
    createGroupIfAbsent: (group) => db.transaction((tx) => groups.createGroupIfAbsent(tx, group)),
    setPresence: (app, user, clientId, online, at) =>
      db.transaction((tx) => presence.setPresence(tx, app, user, clientId, online, at)),
    getPresence: (app, users) => presence.getPresence(db, app, users),
    close: () => db.close(),
  };
}

/** Opens the database, brings its schema up to date and returns the store. */
export async function openSqlStore(db: SqlDatabase): Promise<Store> {
  await migrate(db);
  return createSqlStore(db);
}
