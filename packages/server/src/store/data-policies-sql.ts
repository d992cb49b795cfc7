import { appendAudit, listAudit } from './audit-sql.js';
import type { DataPolicyStore } from './data-policy-store.js';
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
    appendAudit: (entry) => appendAudit(db, entry),
    listAudit: (app, page) => listAudit(db, app, page),
  };
}
