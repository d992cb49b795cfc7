import {
  ConversationViewPartSchema,
  ErrorEventSchema,
  GroupUpdatedEventSchema,
  MessageUpdatedEventSchema,
  PresenceEventSchema,
  type Topic,
  TypingEventSchema,
} from '@mercurio/protocol';
import type { Emitter } from './events.js';
import { checked, type ReportInvalid, type Schema } from './validate.js';

/**
 * Turns an inbox event other than a new message into the SDK's typed event, once its payload fits
 * the event's schema (what does not fit is reported and dropped). The topic names the
 * conversation, message, group or peer, and wins over the payload. Topics that are not events
 * (the client's own receipts, presence and typing echoing back on `#`) emit nothing.
 */
export function emitInboxEvent(
  emitter: Emitter,
  topic: Topic,
  payload: Record<string, unknown>,
  topicText: string,
  report: ReportInvalid,
): void {
  const check = <T>(schema: Schema<T>, value: unknown, what: string) =>
    checked(schema, value, { what, topic: topicText }, report);
  switch (topic.kind) {
    case 'messageUpdated': {
      const update = check(MessageUpdatedEventSchema, payload, 'a message update');
      if (update)
        emitter.emit('messageUpdated', {
          ...update,
          conversWith: topic.conversWith,
          message_id: topic.messageId,
        });
      return;
    }
    case 'conversationUpdated': {
      const view = check(ConversationViewPartSchema, payload, 'a conversation update');
      if (view) emitter.emit('conversationUpdated', { ...view, conversWith: topic.conversWith });
      return;
    }
    case 'conversationAdded':
    case 'conversationDeleted':
    case 'archivedConversationAdded':
    case 'archivedConversationDeleted': {
      const conversation = check(ConversationViewPartSchema, payload, 'a conversation');
      if (conversation)
        emitter.emit(CONVERSATION_EVENTS[topic.kind], { conversWith: topic.conversWith, conversation });
      return;
    }
    case 'groupUpdated': {
      const group = check(
        GroupUpdatedEventSchema,
        { members: {}, ...payload, uid: topic.groupId },
        'a group update',
      );
      if (group) emitter.emit('groupUpdated', { groupId: topic.groupId, group });
      return;
    }
    case 'presenceChanged': {
      const presence = check(PresenceEventSchema, { ...payload, user_id: topic.peer }, 'a presence event');
      if (presence) emitter.emit('presence', presence);
      return;
    }
    case 'typingChanged': {
      const typing = check(
        TypingEventSchema,
        { ...payload, conversWith: topic.conversWith },
        'a typing event',
      );
      if (typing) emitter.emit('typing', typing);
      return;
    }
    case 'error': {
      const error = check(ErrorEventSchema, payload, 'an error event');
      if (!error) return;
      emitter.emit('error', {
        code: error.code,
        message: error.message,
        timestamp: error.timestamp,
        ...(error.topic === undefined ? {} : { topic: error.topic }),
        ...(error.message_id === undefined ? {} : { message_id: error.message_id }),
        ...(error.retry_after_ms === undefined ? {} : { retry_after_ms: error.retry_after_ms }),
      });
      return;
    }
    default:
      return;
  }
}

const CONVERSATION_EVENTS = {
  conversationAdded: 'conversationAdded',
  conversationDeleted: 'conversationRemoved',
  archivedConversationAdded: 'conversationArchived',
  archivedConversationDeleted: 'conversationUnarchived',
} as const;
