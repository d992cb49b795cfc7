import { randomUUID } from 'node:crypto';
import type { Store } from '../../src/store/store.js';
import { conversationKey, type RecordedMessage } from '../../src/store/types.js';

/** Stores a message straight through the Store (as the router would), for fast seeding. */
export function seedMessage(
  store: Store,
  app: string,
  message: { sender: string; recipient: string; text: string; group?: readonly string[]; createdAt?: number },
): Promise<RecordedMessage> {
  const channelType = message.group ? 'group' : 'direct';
  const messageId = randomUUID();
  const createdAt = message.createdAt ?? Date.now();
  const body = {
    text: message.text,
    type: 'text',
    message_id: messageId,
    sender: message.sender,
    recipient: message.recipient,
    app_id: app,
    channel_type: channelType,
    timestamp: createdAt,
  };
  const participants = message.group ?? [...new Set([message.sender, message.recipient])];
  const deliveries = participants.map((owner) => ({
    owner,
    conversWith: message.group
      ? message.recipient
      : owner === message.sender
        ? message.recipient
        : message.sender,
    isSender: owner === message.sender,
  }));
  return store.recordMessage(
    {
      app,
      messageId,
      sender: message.sender,
      recipient: message.recipient,
      channelType,
      conversationKey: message.group
        ? conversationKey('group', message.recipient)
        : conversationKey('direct', message.sender, message.recipient),
      body,
      text: message.text,
      createdAt,
    },
    deliveries,
  );
}
