import { MessageStatus, type OutgoingMessage, OutgoingMessageSchema, type TopicOf } from '@mercurio/protocol';
import type { Publication } from '../../bus/bus.js';
import { type ConversationDelivery, conversationKey, type RecordedMessage } from '../../store/store.js';
import { messageCopy } from '../../views.js';
import { recordedEvents } from '../../webhooks/events.js';
import type { Pipeline, RouterContext } from '../context.js';
import { decodePayload } from '../decode.js';
import { unarchivedEvents } from './archive.js';
import { groupMessage } from './group-message.js';
import { newMessage, updatesConversations } from './message-builder.js';

type OutgoingTopic = TopicOf<'outgoing'>;

/**
 * `apps/<app>/outgoing/users/<sender>/messages/<recipient>/outgoing`: a new message, direct or
 * to a group. A message is a group message when it says so (`channel_type: "group"`), carries
 * an inline group, or is addressed to a stored group — never because of how its id looks.
 */
export const outgoingPipeline: Pipeline<'outgoing'> = {
  orderKey: (topic) => `${topic.app}/${conversationKey('direct', topic.user, topic.recipient)}`,
  async run(ctx, { topic, body }) {
    const payload = decodePayload(body, OutgoingMessageSchema, ctx.settings.maxPayloadBytes);
    // Only a message that says it is direct skips the group lookup (Chat21 clients often omit it).
    const mayBeGroup = payload.channel_type !== 'direct' || payload.group !== undefined;
    const group = mayBeGroup ? await ctx.store.getGroup(topic.app, topic.recipient) : null;
    if (group || payload.channel_type === 'group' || payload.group !== undefined) {
      return groupMessage(ctx, topic, payload, group);
    }
    return directMessage(ctx, topic, payload);
  },
};

async function directMessage(
  ctx: RouterContext,
  topic: OutgoingTopic,
  payload: OutgoingMessage,
): Promise<Publication[]> {
  const { app, user: sender, recipient } = topic;
  const message = newMessage(ctx, topic, payload, 'direct');
  const toSelf = sender === recipient;
  const deliveries: ConversationDelivery[] = !updatesConversations(payload)
    ? []
    : toSelf
      ? [{ owner: sender, conversWith: sender, isSender: true }]
      : [
          { owner: sender, conversWith: recipient, isSender: true },
          { owner: recipient, conversWith: sender, isSender: false },
        ];
  const recorded = await ctx.store.recordMessage(
    message,
    deliveries,
    ctx.webhooks.when((recorded) =>
      ctx.webhooks.entries(recordedEvents(recorded, toSelf ? [] : [recipient], ctx.now())),
    ),
  );
  return [...directCopies(recorded, app, sender, recipient, toSelf), ...unarchivedEvents(recorded)];
}

function directCopies(
  { message }: RecordedMessage,
  app: string,
  sender: string,
  recipient: string,
  toSelf: boolean,
): Publication[] {
  const senderCopy: Publication = {
    topic: { kind: 'messageAdded', app, user: sender, conversWith: recipient },
    payload: messageCopy(message, MessageStatus.SENT),
  };
  if (toSelf) return [senderCopy];
  return [
    senderCopy,
    {
      topic: { kind: 'messageAdded', app, user: recipient, conversWith: sender },
      payload: messageCopy(message, MessageStatus.DELIVERED),
    },
  ];
}
