import type { OutgoingMessage, TopicOf } from '@mercurio/protocol';
import { conversationKey, type NewMessage } from '../../store/types.js';
import type { RouterContext } from '../context.js';

type OutgoingTopic = TopicOf<'outgoing'>;

/** Keys the router sets on every message; a client's values for them are discarded. */
const ROUTER_OWNED = [
  'message_id',
  'sender',
  'recipient',
  'app_id',
  'timestamp',
  'status',
  'seq',
  '__history',
];

/** The message as stored: the client's payload with the router-owned keys set. */
export function newMessage(
  ctx: RouterContext,
  topic: OutgoingTopic,
  payload: OutgoingMessage,
  channelType: 'direct' | 'group',
  extra: Record<string, unknown> = {},
  /** For a message its client sent without a message_id (message-identity.ts). */
  contentKey?: string,
): NewMessage {
  const body: Record<string, unknown> = { ...payload, ...extra };
  for (const key of ROUTER_OWNED) delete body[key];
  const messageId = payload.message_id ?? ctx.newId();
  const createdAt = ctx.now();
  Object.assign(body, {
    message_id: messageId,
    sender: topic.user,
    recipient: topic.recipient,
    app_id: topic.app,
    channel_type: channelType,
    timestamp: createdAt,
  });
  return {
    app: topic.app,
    messageId,
    sender: topic.user,
    recipient: topic.recipient,
    channelType,
    conversationKey: conversationKey(
      channelType,
      channelType === 'group' ? topic.recipient : topic.user,
      topic.recipient,
    ),
    body,
    text: typeof payload.text === 'string' ? payload.text : null,
    createdAt,
    ...(contentKey === undefined ? {} : { contentKey }),
  };
}

/** Chat21 clients may opt out of the conversation list update for a message. */
export function updatesConversations(payload: OutgoingMessage): boolean {
  return payload.attributes?.updateconversation !== false;
}
