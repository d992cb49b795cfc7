import type { AppAnalytics } from './analytics-sql.js';
import type { AuditEntry, StoredAuditEntry } from './audit-sql.js';
import type { ErasureJob, ErasureMode } from './erasure-sql.js';
import type { ExportRecord } from './export-sql.js';
import type { PurgeBatch, PurgeCursor } from './purge-sql.js';
import type { HoldKind, LegalHold, RetentionPolicy, RetentionScope } from './retention-sql.js';

export type { AppAnalytics } from './analytics-sql.js';
export type { AuditEntry, StoredAuditEntry } from './audit-sql.js';
export type { ErasureCounts, ErasureJob, ErasureMode } from './erasure-sql.js';
export type { ExportRecord } from './export-sql.js';
export type { PurgeBatch, PurgeCursor } from './purge-sql.js';
export type { HoldKind, LegalHold, RetentionPolicy, RetentionScope } from './retention-sql.js';

/**
 * The data owner's policies (docs/data-policies.md): retention and its purge, legal holds, the
 * audit log. Used by the purge scheduler, the admin routes and the CLI behind them.
 */
export interface DataPolicyStore {
  setRetention(app: string, scope: RetentionScope, keepDays: number | null, now: number): Promise<void>;
  clearRetention(app: string, scope: RetentionScope): Promise<boolean>;
  listRetention(app: string): Promise<RetentionPolicy[]>;
  setHold(app: string, kind: HoldKind, target: string, reason: string | null, now: number): Promise<void>;
  releaseHold(app: string, kind: HoldKind, target: string): Promise<boolean>;
  listHolds(app: string): Promise<LegalHold[]>;
  /** Apps with a policy that lets messages go (the scheduled purge's round). */
  appsWithRetention(): Promise<string[]>;
  /** The oldest moment any of the app's policies lets go of; undefined: nothing ever expires. */
  loosestCutoff(app: string, now: number): Promise<number | undefined>;
  purgeBatch(
    app: string,
    now: number,
    cutoff: number,
    cursor: PurgeCursor | undefined,
    limit: number,
  ): Promise<PurgeBatch>;
  // Erasure of a user (policies/erasure.ts runs the steps in order).
  startErasure(app: string, user: string, mode: ErasureMode, now: number): Promise<ErasureJob>;
  getErasure(app: string, user: string): Promise<ErasureJob | null>;
  userConversationKeys(app: string, user: string): Promise<string[]>;
  eraseMessageBatch(
    app: string,
    user: string,
    mode: ErasureMode,
    conversationKey: string,
    afterSeq: number,
    limit: number,
  ): Promise<{ lastSeq: number | undefined; blobKeys: string[] }>;
  scrubConversation(app: string, user: string, conversationKey: string): Promise<void>;
  /** The user's rows everywhere else; returns the blob keys of their unsent attachments. */
  eraseUserRows(app: string, user: string): Promise<string[]>;
  finishErasure(app: string, user: string, now: number): Promise<ErasureJob>;
  /** A user's data, record by record (JSON Lines once serialised), read page by page. */
  exportUser(app: string, user: string, now: number): AsyncIterable<ExportRecord>;
  /** Messages per day and kind, active users, conversations opened, first-response times. */
  appAnalytics(app: string, from: number, to: number): Promise<AppAnalytics>;
  appendAudit(entry: AuditEntry): Promise<void>;
  listAudit(
    app: string,
    page: { limit: number; before?: string | undefined; action?: string | undefined },
  ): Promise<StoredAuditEntry[]>;
}
