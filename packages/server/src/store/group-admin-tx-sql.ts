import type { GroupAdminTx, GroupDecision } from './group-admin-store.js';
import * as groupsAdmin from './groups-admin-sql.js';
import * as groups from './groups-sql.js';
import { messageHistory } from './history-sql.js';
import { createProfileStore } from './profiles-sql.js';
import { insertPublications } from './publication-outbox-sql.js';
import type { SqlDatabase, SqlExecutor } from './sql.js';

/** GroupAdminStore.commitGroupChange on SQL: the change and its outbox rows in one transaction. */
export function commitGroupChange<T>(
  db: SqlDatabase,
  at: number,
  decide: (tx: GroupAdminTx) => Promise<GroupDecision<T>>,
): Promise<T> {
  return db.transaction(async (tx) => {
    const { result, publish } = await decide(groupAdminTx(tx));
    await insertPublications(tx, publish, at);
    return result;
  });
}

function groupAdminTx(tx: SqlExecutor): GroupAdminTx {
  const profiles = createProfileStore(tx);
  return {
    getGroup: (app, groupId) => groups.getGroup(tx, app, groupId),
    getProfile: (app, user) => profiles.getProfile(app, user),
    createGroupIfAbsent: (group) => groups.createGroupIfAbsent(tx, group),
    changeGroupMembers: (app, groupId, change, at) =>
      groupsAdmin.changeGroupMembers(tx, app, groupId, change, at),
    updateGroup: (app, groupId, patch, at) => groupsAdmin.updateGroup(tx, app, groupId, patch, at),
    messageHistory: (app, key, query) => messageHistory(tx, app, key, query),
  };
}
