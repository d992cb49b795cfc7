import type { RecordedMessage } from '../store/types.js';
import { recordedEvents } from '../webhooks/events.js';
import type { RouterContext } from './context.js';
import type { MessageDecision } from './decision.js';
import { withAttachments } from './message-attachments.js';
import { outboxRows } from './outbox-rows.js';

/**
 * The commit step of a new message: the message, its conversation's next `seq`, every
 * participant's conversation row, the webhook events about it and the attachments it sends
 * (marked sent), in ONE transaction (one statement when there are neither webhooks nor
 * attachments). Idempotent on the message id: a message already stored comes back as stored,
 * and nothing is written twice.
 */
export async function commitMessage(ctx: RouterContext, decision: MessageDecision): Promise<RecordedMessage> {
  const outbox = outboxRows(ctx);
  // An attachment it sends is checked here and marked sent in the same transaction.
  const message = await withAttachments(ctx.attachments, decision.message);
  const recorded = await ctx.store.recordMessage(
    message,
    decision.deliveries,
    // The events carry the stored message, whose seq is given inside the transaction.
    ctx.webhooks.enabled
      ? (stored) => outbox.rows(recordedEvents(stored, decision.recipients, ctx.now(), decision.quote))
      : undefined,
  );
  outbox.committed();
  return recorded;
}
