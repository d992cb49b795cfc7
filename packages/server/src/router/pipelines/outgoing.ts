import {
  conversationKindOf,
  GROUP_ID_MARK,
  MessageStatus,
  type OutgoingMessage,
  OutgoingMessageSchema,
  SYSTEM_SENDER,
  type TopicOf,
  userIdProblem,
} from '@mercurio/protocol';
import { MercurioError } from '../../errors.js';
import { type ConversationDelivery, conversationKey } from '../../store/types.js';
import type { Pipeline, RouterContext } from '../context.js';
import type { CopyTarget, Decision } from '../decision.js';
import { decodePayload } from '../decode.js';
import { refuseIfBlocked } from './blocking.js';
import { groupMessage } from './group-message.js';
import { newMessage, updatesConversations } from './message-builder.js';
import { type DecodedOutgoing, identify } from './message-identity.js';
import { withReplyAndMentions } from './reply-mentions.js';
import { withTrustedSender } from './trusted-sender.js';

type OutgoingTopic = TopicOf<'outgoing'>;

/**
 * `apps/<app>/outgoing/users/<sender>/messages/<recipient>/outgoing`: a new message, direct or
 * to a group. It is a group message only when it says so (`channel_type: "group"`) or its
 * recipient is a group-form id (`…group-…`), as Chat21 decides it; which groups exist never
 * changes that, so no group can capture a direct conversation (and a direct message costs no
 * group lookup).
 */
export const outgoingPipeline: Pipeline<'outgoing', DecodedOutgoing> = {
  // An id-less message (every Chat21 client's) gets its id here, once per delivery: a retry after
  // a commit whose outcome was unknown (a connection lost during COMMIT) then finds it stored
  // instead of storing it a second time under a new id. A redelivery or a client's resend is
  // known by its content instead (message-identity.ts).
  decode: (ctx, body) => {
    const payload = decodePayload(body, OutgoingMessageSchema, ctx.settings);
    return payload.message_id === undefined
      ? { payload: { ...payload, message_id: ctx.newId() }, minted: true }
      : { payload: { ...payload, message_id: payload.message_id }, minted: false };
  },
  orderKey: (topic, decoded) => `${topic.app}/${conversationOf(topic, decoded?.payload)}`,
  async run(ctx, inbound) {
    const { topic } = inbound;
    const trusted = await withTrustedSender(ctx, topic, inbound.decoded.payload);
    const senderProblem = topic.user === SYSTEM_SENDER ? undefined : userIdProblem(topic.user);
    if (senderProblem) throw new MercurioError('reserved_id', senderProblem);
    const isGroup = conversationKindOf(trusted.channel_type, topic.recipient) === 'group';
    if (!isGroup && trusted.group !== undefined) {
      throw new MercurioError(
        'invalid_payload',
        `group: an inline group needs channel_type "group" and a group id ('${GROUP_ID_MARK}…')`,
      );
    }
    // Before anything is looked up or stored: a blocked pair exchanges nothing.
    if (!isGroup) await refuseIfBlocked(ctx, topic.app, topic.user, topic.recipient);
    const identity = await identify(ctx, topic, conversationOf(topic, trusted), inbound);
    const payload = { ...trusted, message_id: identity.messageId };
    if (isGroup) {
      const group = await ctx.store.getGroup(topic.app, topic.recipient);
      return withReplyAndMentions(ctx, await groupMessage(ctx, topic, payload, group, identity.contentKey));
    }
    return withReplyAndMentions(ctx, directMessage(ctx, topic, payload, identity.contentKey));
  },
};

/**
 * The conversation a message belongs to, which is its order key: the group (every member's
 * messages to it one after another, so their copies leave in `seq` order) or the pair of users.
 * A payload that could not be decoded (to be refused) is placed by its recipient alone.
 */
function conversationOf(topic: OutgoingTopic, payload: OutgoingMessage | undefined): string {
  return conversationKindOf(payload?.channel_type, topic.recipient) === 'group'
    ? conversationKey('group', topic.recipient)
    : conversationKey('direct', topic.user, topic.recipient);
}

/** A direct message: stored once, a copy to the sender (100) and one to the recipient (150). */
function directMessage(
  ctx: RouterContext,
  topic: OutgoingTopic,
  payload: OutgoingMessage,
  contentKey: string | undefined,
): Decision {
  const { user: sender, recipient } = topic;
  const message = newMessage(ctx, topic, payload, 'direct', {}, contentKey);
  const toSelf = sender === recipient;
  const deliveries: ConversationDelivery[] = !updatesConversations(payload)
    ? []
    : toSelf
      ? [{ owner: sender, conversWith: sender, isSender: true }]
      : [
          { owner: sender, conversWith: recipient, isSender: true },
          { owner: recipient, conversWith: sender, isSender: false },
        ];
  const copies: CopyTarget[] = [{ user: sender, conversWith: recipient, status: MessageStatus.SENT }];
  if (!toSelf) copies.push({ user: recipient, conversWith: sender, status: MessageStatus.DELIVERED });
  return { commit: { message, deliveries, copies, recipients: toSelf ? [] : [recipient] } };
}
