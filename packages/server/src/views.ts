import {
  type ConversationView,
  type MessageCopy,
  MessageStatus,
  type MessageStatusCode,
} from '@mercurio/protocol';
import type { ConversationRecord, StoredMessage } from './store/types.js';

/** A message as one inbox sees it: the stored body plus this copy's status and its sequence number. */
export function messageCopy(message: StoredMessage, status: MessageStatusCode): MessageCopy {
  return { ...message.body, seq: message.seq, status } as MessageCopy;
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
    last_message_text: typeof last.text === 'string' ? last.text : null,
    timestamp: typeof last.timestamp === 'number' ? last.timestamp : conversation.updatedAt,
  };
}
