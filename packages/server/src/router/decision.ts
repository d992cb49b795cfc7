import type { MessageQuote, MessageStatusCode } from '@mercurio/protocol';
import type { Publication } from '../bus/bus.js';
import type { ConversationDelivery, NewMessage } from '../store/types.js';

/** Who gets a copy of a new message, in which inbox, with which status. */
export interface CopyTarget {
  user: string;
  conversWith: string;
  status: MessageStatusCode;
}

/**
 * A new message, as the outgoing pipeline decided it: plain data, written by the commit step
 * (`commit.ts`) in one transaction with its webhook outbox rows, then published by the publish
 * step (`publish.ts`).
 */
export interface MessageDecision {
  message: NewMessage;
  /** The conversation rows to update: the sender's and each recipient's. */
  deliveries: readonly ConversationDelivery[];
  /** The copies to publish once stored, in this order. */
  copies: readonly CopyTarget[];
  /** The users the webhook events name as recipients (the sender is named as such). */
  recipients: readonly string[];
  /** A reply's quoted preview of the message it replies to, as it is now (issue 15). */
  quote?: MessageQuote;
}

/**
 * What a pipeline decided: a new message to commit and then publish, or events to publish as
 * they are (the pipeline's own small write, if any, already done: a receipt, a presence change).
 */
export type Decision = { commit: MessageDecision } | { publish: readonly Publication[] };

export const publishOnly = (publications: readonly Publication[]): Decision => ({ publish: publications });
