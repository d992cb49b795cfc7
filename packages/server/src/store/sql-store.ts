import { createApiSqlStore } from './api-sql.js';
import { claimAttachments } from './attachments-sql.js';
import { createBlockStore } from './blocks-sql.js';
import * as conversations from './conversations-sql.js';
import { createDataPolicyStore } from './data-policies-sql.js';
import { commitGroupChange } from './group-admin-tx-sql.js';
import * as groups from './groups-sql.js';
import { createMessageActionStore } from './message-actions-sql.js';
import {
  findByContent,
  findMessage,
  insertMessage,
  insertMessageWithOutbox,
  isDuplicateInsert,
} from './messages-sql.js';
import { migrate } from './migrate.js';
import * as outbox from './outbox-sql.js';
import { insertOutbox } from './outbox-sql.js';
import * as presence from './presence-sql.js';
import { createProfileStore } from './profiles-sql.js';
import { createPublicationQueue } from './publication-outbox-sql.js';
import type { SqlDatabase } from './sql.js';
import type { Store } from './store.js';

/** The Store on any SQL database speaking PostgreSQL (node-postgres or PGlite). */
export function createSqlStore(db: SqlDatabase): Store {
  return {
    async recordMessage(message, deliveries, outbox) {
      // Without webhook events the message is one atomic statement; with them, one transaction.
      // With attachments, they are marked sent in the same transaction (a refusal rolls it back).
      const record = () =>
        outbox || message.attachmentIds?.length
          ? db.transaction(async (tx) => {
              const recorded = outbox
                ? await insertMessageWithOutbox(tx, message, deliveries, outbox)
                : await insertMessage(tx, message, deliveries);
              if (!recorded.duplicate) await claimAttachments(tx, message);
              return recorded;
            })
          : insertMessage(db, message, deliveries);
      try {
        return await record();
      } catch (error) {
        // Two deliveries of one message raced: the loser now finds the winner's row.
        if (!isDuplicateInsert(error)) throw error;
        return record();
      }
    },
    findMessage: (app, messageId) => findMessage(db, app, messageId),
    findByContent: (query) => findByContent(db, query),
    markRead: (app, reader, conversWith, seq, entries = []) =>
      entries.length === 0
        ? conversations.markRead(db, app, reader, conversWith, seq)
        : db.transaction(async (tx) => {
            const conversation = await conversations.markRead(tx, app, reader, conversWith, seq);
            await insertOutbox(tx, entries, Date.now());
            return conversation;
          }),
    patchConversation: (app, owner, conversWith, patch) =>
      conversations.patchConversation(db, app, owner, conversWith, patch),
    setArchived: (app, owner, conversWith, archived, entries) =>
      db.transaction(async (tx) => {
        const conversation = await conversations.setArchived(tx, app, owner, conversWith, archived);
        if (conversation && entries) await insertOutbox(tx, entries(conversation), conversation.updatedAt);
        return conversation;
      }),
    getConversation: (app, owner, conversWith) => conversations.getConversation(db, app, owner, conversWith),
    directPeers: (app, user, limit) => conversations.directPeers(db, app, user, limit),
    getGroup: (app, groupId) => groups.getGroup(db, app, groupId),
    createGroupIfAbsent: (group) => db.transaction((tx) => groups.createGroupIfAbsent(tx, group)),
    setPresence: (app, user, clientId, online, at, entries) =>
      db.transaction((tx) => presence.setPresence(tx, app, user, clientId, online, at, entries)),
    getPresence: (app, users) => presence.getPresence(db, app, users),
    claimWebhookDeliveries: (endpoints, now, leaseMs, limit) =>
      outbox.claimDueDeliveries(db, endpoints, now, leaseMs, limit),
    completeWebhookDelivery: (delivery, now) => outbox.markDelivered(db, delivery, now),
    failWebhookDelivery: (delivery, error, retryAt) => outbox.markFailed(db, delivery, error, retryAt),
    webhookDeliveryCounts: (app) => outbox.countDeliveries(db, app),
    ...createApiSqlStore(db),
    ...createMessageActionStore(db),
    ...createProfileStore(db),
    commitGroupChange: (at, decide) => commitGroupChange(db, at, decide),
    ...createPublicationQueue(db),
    ...createDataPolicyStore(db),
    ...createBlockStore(db),
    close: () => db.close(),
  };
}

/** Opens the database, brings its schema up to date and returns the store. */
export async function openSqlStore(db: SqlDatabase): Promise<Store> {
  await migrate(db);
  return createSqlStore(db);
}
