import { appAnalytics } from './analytics-sql.js';
import { appendAudit, listAudit } from './audit-sql.js';
import type { DataPolicyStore } from './data-policy-store.js';
import * as erasure from './erasure-sql.js';
import { exportUser } from './export-sql.js';
import { appsWithRetention, loosestCutoff, purgeBatch } from './purge-sql.js';
import * as retention from './retention-sql.js';
import type { SqlDatabase } from './sql.js';

/** DataPolicyStore on SQL. */
export function createDataPolicyStore(db: SqlDatabase): DataPolicyStore {
  return {
    setRetention: (app, scope, keepDays, now) => retention.setRetention(db, app, scope, keepDays, now),
    clearRetention: (app, scope) => retention.clearRetention(db, app, scope),
    listRetention: (app) => retention.listRetention(db, app),
    setHold: (app, kind, target, reason, now) => retention.setHold(db, app, kind, target, reason, now),
    releaseHold: (app, kind, target) => retention.releaseHold(db, app, kind, target),
    listHolds: (app) => retention.listHolds(db, app),
    appsWithRetention: () => appsWithRetention(db),
    loosestCutoff: (app, now) => loosestCutoff(db, app, now),
    purgeBatch: (app, now, cutoff, cursor, limit) => purgeBatch(db, app, now, cutoff, cursor, limit),
    startErasure: (app, user, mode, now) => erasure.startErasure(db, app, user, mode, now),
    getErasure: (app, user) => erasure.getErasure(db, app, user),
    userConversationKeys: (app, user) => erasure.userConversationKeys(db, app, user),
    eraseMessageBatch: (app, user, mode, key, afterSeq, limit) =>
      erasure.eraseMessageBatch(db, app, user, mode, key, afterSeq, limit),
    scrubConversation: (app, user, key) => erasure.scrubConversation(db, app, user, key),
    eraseUserRows: (app, user) => erasure.eraseUserRows(db, app, user),
    finishErasure: (app, user, now) => erasure.finishErasure(db, app, user, now),
    exportUser: (app, user, now) => exportUser(db, app, user, now),
    appAnalytics: (app, from, to) => appAnalytics(db, app, from, to),
    appendAudit: (entry) => appendAudit(db, entry),
    listAudit: (app, page) => listAudit(db, app, page),
  };
}
