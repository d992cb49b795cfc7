import { MessageStatus, ReceiptSchema, SYSTEM_SENDER, type TopicOf } from '@mercurio/protocol';
import type { Publication } from '../../bus/bus.js';
import { MercurioError } from '../../errors.js';
import type { StoredMessage } from '../../store/types.js';
import { receiptEvents } from '../../webhooks/events.js';
import type { Pipeline, RouterContext } from '../context.js';
import { publishOnly } from '../decision.js';
import { decodePayload } from '../decode.js';
import { outboxRows } from '../outbox-rows.js';

type ReceiptTopic = TopicOf<'messageUpdate'>;

/**
 * `apps/<app>/users/<me>/messages/<cw>/<message_id>/update` with `{status: 200}`: the reader
 * has the message. Only a recipient may say so; the reader's watermark only moves forward; the
 * real sender — also of a group message — is told 250.
 */
export const receiptPipeline: Pipeline<'messageUpdate'> = {
  orderKey: (topic) => `${topic.app}/c/${topic.user}/${topic.conversWith}`,
  async run(ctx, { topic, body }) {
    decodePayload(body, ReceiptSchema, ctx.settings);
    const { app, user: reader, conversWith, messageId } = topic;
    const message = await ctx.store.findMessage(app, messageId);
    if (!message) throw new MercurioError('message_not_found', `no message ${messageId}`);
    await assertRecipient(ctx, topic, message);
    const outbox = outboxRows(ctx);
    const rows = outbox.rows(receiptEvents(message, reader, ctx.now()));
    const conversation = await ctx.store.markRead(app, reader, conversWith, message.seq, rows);
    outbox.committed();
    const events: Publication[] = [
      // The reader's other devices learn the copy is read.
      {
        topic: { kind: 'messageUpdated', app, user: reader, conversWith, messageId },
        payload: { timelineOf: reader, message_id: messageId, status: MessageStatus.RECEIVED },
      },
    ];
    if (conversation) {
      events.push({
        topic: { kind: 'conversationUpdated', app, user: reader, conversWith },
        payload: {
          timelineOf: reader,
          conversWith,
          is_new: conversation.isNew,
          unread_count: conversation.unreadCount,
          read_seq: conversation.readSeq,
        },
      });
    }
    if (message.sender !== SYSTEM_SENDER) {
      // The sender sees the receipt in their own conversation: with the reader, or the group.
      const senderConversation = message.channelType === 'group' ? message.recipient : reader;
      events.push({
        topic: {
          kind: 'messageUpdated',
          app,
          user: message.sender,
          conversWith: senderConversation,
          messageId,
        },
        payload: {
          timelineOf: message.sender,
          message_id: messageId,
          status: MessageStatus.RETURN_RECEIPT,
          read_by: reader,
        },
      });
    }
    return publishOnly(events);
  },
};

async function assertRecipient(
  ctx: RouterContext,
  topic: ReceiptTopic,
  message: StoredMessage,
): Promise<void> {
  const { user: reader, conversWith } = topic;
  const refuse = () =>
    new MercurioError('not_a_recipient', `${reader} is not a recipient of message ${message.messageId}`);
  if (message.sender === reader) throw refuse();
  if (message.channelType === 'direct') {
    if (message.recipient !== reader || message.sender !== conversWith) throw refuse();
    return;
  }
  if (message.recipient !== conversWith) throw refuse();
  const group = await ctx.store.getGroup(topic.app, conversWith);
  if (!group?.members.includes(reader)) throw refuse();
}
