import { createHash } from 'node:crypto';
import type { OutgoingMessage, TopicOf } from '@mercurio/protocol';
import type { RouterContext } from '../context.js';

/** An outgoing payload as decoded: its message_id is always set, `minted` when the client gave none. */
export interface DecodedOutgoing {
  payload: OutgoingMessage & { message_id: string };
  minted: boolean;
}

/** Which message a delivery is: its id, and for an id-less one the key that finds it again. */
export interface MessageIdentity {
  messageId: string;
  contentKey?: string;
}

/**
 * A message without a message_id (every Chat21 client's) is known by its content: a hash of its
 * app, sender, conversation and payload bytes (base64url, 128 bits).
 */
export function contentKeyOf(app: string, sender: string, conversationKey: string, body: Buffer): string {
  return createHash('sha256')
    .update(`${app}\u0000${sender}\u0000${conversationKey}\u0000`)
    .update(body)
    .digest('base64url')
    .slice(0, 22);
}

/**
 * The identity of a delivery (docs/protocol.md, message_id):
 * - a client's message_id is the message's;
 * - an id-less message's first delivery is always a new message (two identical texts sent on
 *   purpose are two messages); its id was minted once for the delivery, so an in-place retry
 *   after a commit of unknown outcome finds it stored;
 * - a redelivery by the broker or a client's resend (MQTT DUP) of an id-less message is the most
 *   recent message of that sender in that conversation stored with the same content within
 *   `retransmitWindowMs`, if there is one: its stored copies go out again, nothing is stored twice.
 */
export async function identify(
  ctx: RouterContext,
  topic: TopicOf<'outgoing'>,
  conversationKey: string,
  inbound: { body: Buffer; retransmitted: boolean; decoded: DecodedOutgoing },
): Promise<MessageIdentity> {
  const { payload, minted } = inbound.decoded;
  if (!minted) return { messageId: payload.message_id };
  const contentKey = contentKeyOf(topic.app, topic.user, conversationKey, inbound.body);
  const windowMs = ctx.settings.retransmitWindowMs;
  if (inbound.retransmitted && windowMs > 0) {
    const stored = await ctx.store.findByContent({
      app: topic.app,
      conversationKey,
      sender: topic.user,
      contentKey,
      since: ctx.now() - windowMs,
    });
    if (stored) return { messageId: stored.messageId, contentKey };
  }
  return { messageId: payload.message_id, contentKey };
}
