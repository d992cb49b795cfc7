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

/** Which messages a retention policy covers: the whole app, one kind, or one conversation. */
export type RetentionScope =
  | { scope: 'app' | 'direct' | 'group' }
  | { scope: 'conversation'; conversationKey: string };

export interface RetentionPolicy {
  scope: 'app' | 'direct' | 'group' | 'conversation';
  /** Set for scope 'conversation' ('d/<a>/<b>' or 'g/<group>'). */
  conversationKey: string | null;
  /** null: forever. */
  keepDays: number | null;
  updatedAt: number;
}

export type HoldKind = 'conversation' | 'user';

export interface LegalHold {
  kind: HoldKind;
  /** A conversation key, or a user id. */
  target: string;
  reason: string | null;
  createdAt: number;
}

/** Where a purge run has got to in an app's messages: the last row it looked at, oldest first. */
export interface PurgeCursor {
  createdAt: number;
  conversationKey: string;
  seq: number;
}

export interface PurgeBatch {
  /** Rows looked at (expired by the loosest policy); fewer than the batch size: the run is done. */
  scanned: number;
  /** Messages deleted, with their ids (their blobs are removed after the commit). */
  deleted: { conversationKey: string; messageId: string }[];
  /** Webhook events of the deleted messages, deleted with them (their deliveries cascade). */
  outboxRows: number;
  /** Earlier versions, reactions and delete-for-me rows of the deleted messages. */
  dependents: number;
  /** Blob keys of the deleted messages' attachments (rows deleted; bytes removed after the commit). */
  blobKeys: string[];
  /** Conversation rows whose last message or unread count were brought back in line. */
  conversationsFixed: number;
  cursor: PurgeCursor | undefined;
  /** Another process holds this app's purge: nothing was done. */
  busy: boolean;
}

/** One admin or service action, as the audit log keeps it. */
export interface AuditEntry {
  app: string;
  /** Who did it: the token's subject (an admin, a service, `mercurio-cli`). */
  actor: string;
  /** e.g. retention.set, hold.set, user.erase, user.export, message.send_as */
  action: string;
  /** What it acted on: a user id, a conversation key, a scope. */
  target: string | null;
  details: Record<string, unknown>;
  at: number;
}

export interface StoredAuditEntry extends AuditEntry {
  id: string;
}

export type ErasureMode = 'tombstone' | 'remove';

/** What an erasure removed or rewrote, by kind (summed over its runs). */
export type ErasureCounts = Record<string, number>;

export interface ErasureJob {
  app: string;
  user: string;
  mode: ErasureMode;
  status: 'running' | 'done';
  counts: ErasureCounts;
  startedAt: number;
  finishedAt: number | null;
}

/** One line of a user's export (JSON Lines): what kind of record, and the record as stored. */
export type ExportRecord =
  | {
      kind: 'user';
      app: string;
      user_id: string;
      profile: Record<string, unknown> | null;
      exported_at: number;
    }
  | { kind: 'conversation'; [field: string]: unknown }
  | { kind: 'group'; [field: string]: unknown }
  | { kind: 'message'; [field: string]: unknown }
  | { kind: 'attachment'; [field: string]: unknown }
  | { kind: 'message_version'; [field: string]: unknown }
  | { kind: 'reaction'; [field: string]: unknown }
  | { kind: 'end'; counts: Record<string, number> };

/** The app owner's numbers over [from, to) (UTC days), read from the stored messages. */
export interface AppAnalytics {
  from: number;
  to: number;
  /** Messages per UTC day and kind. */
  messagesPerDay: { day: string; direct: number; group: number }[];
  /** Distinct senders per UTC day, and over the whole range. */
  activeUsersPerDay: { day: string; users: number }[];
  activeUsers: number;
  /** Conversations whose first message was sent in the range. */
  conversationsOpened: { direct: number; group: number };
  /**
   * Direct conversations opened in the range: how long the first message waited for the other
   * party's first answer (the help-desk number); unanswered ones are counted, not timed.
   */
  firstResponse: { opened: number; answered: number; medianMs: number | null; p90Ms: number | null };
}
