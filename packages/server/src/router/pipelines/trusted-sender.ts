import { type OutgoingMessage, SYSTEM_SENDER, type TopicOf } from '@mercurio/protocol';
import type { RouterContext } from '../context.js';

/**
 * What a message says about who sent it comes from the server, not from the client: the sender's
 * display name is the one the server trusts (their profile, else their id), and only the server's
 * own sender (`system`, which no user token can act as) may send info notices. A client's
 * `sender_fullname` and notice attributes are replaced or dropped; everything else is kept.
 */
export async function withTrustedSender(
  ctx: RouterContext,
  topic: TopicOf<'outgoing'>,
  payload: OutgoingMessage,
): Promise<OutgoingMessage> {
  if (topic.user === SYSTEM_SENDER) return payload;
  const senderFullname = await ctx.senderNames.nameOf(topic.app, topic.user);
  return { ...payload, sender_fullname: senderFullname, attributes: withoutNotice(payload.attributes) };
}

/**
 * Drops what makes a client draw a message as a notice of the service (Chat21 §3.5:
 * `subtype: "info"`, Tiledesk's `"info/support"`, and the `messagelabel` its text is built from).
 */
function withoutNotice(attributes: OutgoingMessage['attributes']): OutgoingMessage['attributes'] {
  if (!attributes) return attributes;
  const { messagelabel: _label, ...kept } = attributes;
  if (typeof kept.subtype === 'string' && kept.subtype.startsWith('info')) delete kept.subtype;
  return kept;
}
