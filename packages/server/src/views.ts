import {
  type ConversationView,
  type MessageCopy,
  MessageStatus,
  type MessageStatusCode,
} from '@mercurio/protocol';
import type { ConversationRecord, StoredMessage } from './store/types.js';

/**
 * A message as one inbox sees it: the stored body plus this copy's status and its sequence number;
 * `owner`'s copy says `mentioned: true` when the message mentions them (issue 15).
 */
export function messageCopy(message: StoredMessage, status: MessageStatusCode, owner?: string): MessageCopy {
  const copy = { ...message.body, seq: message.seq, status } as MessageCopy;
  if (owner !== undefined && mentions(message, owner)) copy.mentioned = true;
  return copy;
}

/** Whether the message mentions `user` (its stored `mentions`: participants only). */
export function mentions(message: StoredMessage, user: string): boolean {
  const list = message.body.mentions;
  return Array.isArray(list) && list.includes(user);
}

/** Chat21's conversation object (§3.3) from a conversation row, plus unread count and watermarks. */
export function conversationView(conversation: ConversationRecord): ConversationView {
  const last = conversation.lastMessage ?? {};
  const ownMessage = last.sender === conversation.owner;
  return {
    ...last,
    status: ownMessage ? MessageStatus.SENT : MessageStatus.DELIVERED,
    timelineOf: conversation.owner,
    conversWith: conversation.conversWith,
    key: conversation.conversWith,
    app_id: conversation.app,
    channel_type: conversation.channelType,
    is_new: conversation.isNew,
    archived: conversation.archived,
    unread_count: conversation.unreadCount,
    last_seq: conversation.lastSeq,
    read_seq: conversation.readSeq,
    mentioned: conversation.mentioned ?? false,
    muted: conversation.muted ?? false,
    last_message_text: typeof last.text === 'string' ? last.text : null,
    timestamp: typeof last.timestamp === 'number' ? last.timestamp : conversation.updatedAt,
  };
}
