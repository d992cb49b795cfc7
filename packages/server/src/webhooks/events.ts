import {
  type ConversationView,
  formatTopic,
  type MessageQuote,
  MessageStatus,
  type PresenceStatus,
} from '@mercurio/protocol';
import type { RecordedMessage, StoredMessage } from '../store/types.js';
import { conversationView, mentions, messageCopy } from '../views.js';

/**
 * The webhook events, in Chat21's payload shapes (chat21-protocol.md §8.2). Chat21 defined
 * six but only ever delivered two; Mercurio delivers all of them.
 */
export const WEBHOOK_EVENTS = [
  'message-sent',
  'message-delivered',
  'message-received',
  'message-return-receipt',
  'conversation-archived',
  'conversation-unarchived',
  'presence-change',
  // Issue 15: a message changed (once per change, `data` the message as it is now).
  'message-edited',
  'message-deleted',
  'message-reaction',
] as const;
export type WebhookEventType = (typeof WEBHOOK_EVENTS)[number];

export interface WebhookEvent {
  app: string;
  type: WebhookEventType;
  /** Events with the same key reach an endpoint in the order they were written. */
  orderingKey: string;
  payload: Record<string, unknown>;
}

function clientAddedKey(app: string, inbox: string, conversWith: string): string {
  return formatTopic({ kind: 'messageAdded', app, user: inbox, conversWith }, 'amqp');
}

function messageEvent(
  type: 'message-sent' | 'message-delivered',
  message: StoredMessage,
  status: 100 | 150,
  inbox: string,
  conversWith: string,
  now: number,
  quote: MessageQuote | undefined,
): WebhookEvent {
  const data = messageCopy(message, status, type === 'message-delivered' ? inbox : undefined);
  // A reply's quote, as its copies carry it (issue 15): the quoted message as it was when sent.
  if (quote) data.quote = quote;
  return {
    app: message.app,
    type,
    orderingKey: message.conversationKey,
    payload: {
      event_type: type,
      createdAt: now,
      recipient_id: message.recipient,
      app_id: message.app,
      message_id: message.messageId,
      data,
      extras: { topic: clientAddedKey(message.app, inbox, conversWith) },
      delivered_to: inbox,
      ...(type === 'message-delivered' && mentions(message, inbox) ? { mentioned: true } : {}),
    },
  };
}

/**
 * A stored message changed (issue 15): edited, deleted for everyone, or its reactions. Once per
 * change, ordered with the conversation's other message events; `data` is the message as it is
 * now (the sender's view) plus what the change says (`for`, or `reaction`/`action`/`user_id`).
 */
export function messageChangeEvent(
  type: 'message-edited' | 'message-deleted' | 'message-reaction',
  message: StoredMessage,
  by: string,
  now: number,
  extra: Record<string, unknown> = {},
): WebhookEvent {
  return {
    app: message.app,
    type,
    orderingKey: message.conversationKey,
    payload: {
      event_type: type,
      createdAt: now,
      app_id: message.app,
      message_id: message.messageId,
      recipient_id: message.recipient,
      user_id: by,
      data: { ...messageCopy(message, MessageStatus.SENT), ...extra },
    },
  };
}

/**
 * A new message: `message-sent` once (the sender's copy of a direct message; the group's own
 * timeline copy of a group message, which Tiledesk relies on), `message-delivered` per recipient.
 */
export function messageEvents(
  message: StoredMessage,
  recipients: readonly string[],
  now: number,
  /** Recipients who muted the conversation: their event says `muted: true` (no push wanted). */
  muted: ReadonlySet<string> = new Set(),
  /** A reply's quoted preview (issue 15). */
  quote?: MessageQuote,
): WebhookEvent[] {
  const group = message.channelType === 'group';
  const sentInbox = group ? message.recipient : message.sender;
  return [
    messageEvent('message-sent', message, MessageStatus.SENT, sentInbox, message.recipient, now, quote),
    ...recipients.map((inbox) => {
      const event = messageEvent(
        'message-delivered',
        message,
        MessageStatus.DELIVERED,
        inbox,
        group ? message.recipient : message.sender,
        now,
        quote,
      );
      if (muted.has(inbox)) event.payload.muted = true;
      return event;
    }),
  ];
}

/** Everything a newly stored message reports: the message events and the unarchived conversations. */
export function recordedEvents(
  recorded: RecordedMessage,
  recipients: readonly string[],
  now: number,
  quote?: MessageQuote,
): WebhookEvent[] {
  return [
    ...messageEvents(recorded.message, recipients, now, new Set(recorded.muted), quote),
    ...recorded.unarchived.map((conversation) =>
      conversationEvent('conversation-unarchived', conversationView(conversation), now),
    ),
  ];
}

/** A receipt: `message-received` for the reader's copy, `message-return-receipt` for the sender's. */
export function receiptEvents(message: StoredMessage, reader: string, now: number): WebhookEvent[] {
  const senderSees = message.channelType === 'group' ? message.recipient : reader;
  const readerSees = message.channelType === 'group' ? message.recipient : message.sender;
  const event = (
    type: 'message-received' | 'message-return-receipt',
    owner: string,
    conversWith: string,
    status: number,
  ): WebhookEvent => ({
    app: message.app,
    type,
    orderingKey: message.conversationKey,
    payload: {
      event_type: type,
      createdAt: now,
      recipient_id: owner,
      app_id: message.app,
      message_id: message.messageId,
      data: { timelineOf: owner, message_id: message.messageId, status, read_by: reader },
      extras: {
        topic: formatTopic(
          {
            kind: 'messageUpdated',
            app: message.app,
            user: owner,
            conversWith,
            messageId: message.messageId,
          },
          'amqp',
        ),
      },
    },
  });
  return [
    event('message-received', reader, readerSees, MessageStatus.RECEIVED),
    event('message-return-receipt', message.sender, senderSees, MessageStatus.RETURN_RECEIPT),
  ];
}

export function conversationEvent(
  type: 'conversation-archived' | 'conversation-unarchived',
  conversation: ConversationView,
  now: number,
): WebhookEvent {
  const app = conversation.app_id;
  const user = conversation.timelineOf;
  const conversWith = conversation.conversWith;
  return {
    app,
    type,
    orderingKey: `c/${user}/${conversWith}`,
    payload: {
      event_type: type,
      createdAt: now,
      app_id: app,
      user_id: user,
      recipient_id: conversWith,
      convers_with: conversWith,
      data: conversation,
      extras: {
        topic: formatTopic(
          { kind: type === 'conversation-archived' ? 'archive' : 'unarchive', app, user, conversWith },
          'amqp',
        ),
      },
    },
  };
}

export function presenceEvent(
  app: string,
  user: string,
  presence: PresenceStatus,
  now: number,
): WebhookEvent {
  return {
    app,
    type: 'presence-change',
    orderingKey: `p/${user}`,
    payload: {
      event_type: 'presence-change',
      presence,
      createdAt: now,
      app_id: app,
      user_id: user,
      data: true,
    },
  };
}
