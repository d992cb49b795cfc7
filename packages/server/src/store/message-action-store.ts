import type { ConversationRecord, OutboxEntry, StoredMessage } from './types.js';

/**
 * What changing a stored message needs (issue 15: edit, delete, reactions, delete-for-me,
 * replies): a part of `RouterStore`, used alike by the router's pipelines and the HTTP API
 * through `message-actions/`. Every change is one transaction with its webhook outbox rows.
 */
export interface MessageActionStore {
  /**
   * Locks the message, lets `decide` judge it as it is now (throwing refuses: nothing is
   * written), applies the plan, rewrites the conversation rows whose last message it is (edit,
   * delete) and writes `outbox(changed)` — all in ONE transaction. `decide` gets null when no
   * message has this id in the app.
   */
  changeMessage(
    app: string,
    messageId: string,
    decide: (current: StoredMessage | null) => MessageChangePlan,
    outbox?: (changed: ChangedMessage) => OutboxEntry[],
  ): Promise<ChangedMessage>;
  /**
   * Hides the message from one user's timeline (`hidden` false when it was hidden already). When
   * it was the last message of the user's conversation row, the row's `last_message` becomes their
   * newest message they still see (a tombstone if that is one), or `placeholder` when none is
   * left; that row comes back as `conversation`. In one transaction.
   */
  hideMessage(
    app: string,
    user: string,
    message: StoredMessage,
    at: number,
    placeholder: Record<string, unknown>,
  ): Promise<HiddenMessage>;
  /** Which of these messages `user` hid (delete-for-me). */
  hiddenFor(app: string, user: string, messageIds: readonly string[]): Promise<Set<string>>;
  /** The messages with these ids in the app (unknown ids are left out). */
  findMessages(app: string, messageIds: readonly string[]): Promise<StoredMessage[]>;
  /** Each participant's read watermark in the conversation (owner → read_seq). */
  readWatermarks(app: string, conversationKey: string): Promise<Map<string, number>>;
  /** The replies to one message, oldest first, after `after`, up to `maxSeq`. */
  replies(
    app: string,
    conversationKey: string,
    messageId: string,
    query: RepliesQuery,
  ): Promise<StoredMessage[]>;
  /** The states a message had before its edits and deletion, oldest first. */
  messageVersions(app: string, messageId: string): Promise<MessageVersion[]>;
}

export interface RepliesQuery {
  after?: number | undefined;
  limit: number;
  maxSeq?: number | null | undefined;
}

/** What a change does to the locked message. */
export type MessageChangePlan =
  | {
      kind: 'edit';
      body: Record<string, unknown>;
      text: string;
      at: number;
      by: string;
      /** Participants the edit newly mentions: their conversation rows get `mentioned`. */
      newlyMentioned: readonly string[];
    }
  | { kind: 'delete'; body: Record<string, unknown>; at: number; by: string }
  | {
      kind: 'react';
      reaction: string;
      user: string;
      action: 'add' | 'remove';
      at: number;
      limits: ReactionLimits;
    }
  /** Nothing to write (a replay of the same edit, a tombstone deleted again): served as it is. */
  | { kind: 'none' };

export interface ReactionLimits {
  /** Distinct reactions on one message. */
  perMessage: number;
  /** Reactions of one user on one message. */
  perUser: number;
}

export interface ChangedMessage {
  /** The message as it is after the change. */
  message: StoredMessage;
  /** False when nothing was written (no webhook rows, nothing new for anyone). */
  changed: boolean;
  /**
   * The conversation rows rewritten: those whose last message this is (edit and delete), and
   * those of users an edit newly mentions (flagged `mentioned`); one row per owner.
   */
  conversations: ConversationRecord[];
}

export interface HiddenMessage {
  /** False when the user had hidden it already (nothing written). */
  hidden: boolean;
  /** The user's conversation row, when its last message changed. */
  conversation: ConversationRecord | null;
}

export interface MessageVersion {
  version: number;
  body: Record<string, unknown>;
  text: string | null;
  replacedAt: number;
  replacedBy: string;
  change: 'edited' | 'deleted';
}
