import type { GroupMembersChange, GroupPatch, HistoryQuery } from './api-store.js';
import type { UserProfile } from './profile-store.js';
import type { PublicationEntry } from './publication-queue.js';
import type { GroupRecord, StoredMessage } from './types.js';

/** What group administration reads and writes inside its one transaction. */
export interface GroupAdminTx {
  getGroup(app: string, groupId: string): Promise<GroupRecord | null>;
  getProfile(app: string, user: string): Promise<UserProfile | null>;
  /** Creates the group unless one with that id exists; returns the group as stored. */
  createGroupIfAbsent(group: GroupRecord): Promise<{ group: GroupRecord; created: boolean }>;
  /** Adds and removes members under the group row's lock; null when the group does not exist. */
  changeGroupMembers(
    app: string,
    groupId: string,
    change: { add: readonly string[]; remove: readonly string[] },
    at: number,
  ): Promise<GroupMembersChange | null>;
  updateGroup(app: string, groupId: string, patch: GroupPatch, at: number): Promise<GroupRecord | null>;
  messageHistory(app: string, conversationKey: string, query: HistoryQuery): Promise<StoredMessage[]>;
}

/** A change's outcome and what it must publish. */
export interface GroupDecision<T> {
  result: T;
  publish: readonly PublicationEntry[];
}

/** The store as group administration (groups/group-admin.ts) sees it. */
export interface GroupAdminStore {
  getGroup(app: string, groupId: string): Promise<GroupRecord | null>;
  /**
   * Runs `decide` in one transaction and writes the publications it returns to the outbox in the
   * same transaction: the change and its notifications are committed together, or neither.
   * `at` is the change's time (the outbox rows' creation time).
   */
  commitGroupChange<T>(at: number, decide: (tx: GroupAdminTx) => Promise<GroupDecision<T>>): Promise<T>;
}
