import type { PresenceEvent, Topic, TypingEvent } from '@mercurio/protocol';
import type { Emitter } from './events.js';

/**
 * Turns an inbox event other than a new message into the SDK's typed event. Topics that are not
 * events (the client's own receipts, presence and typing echoing back on `#`) emit nothing.
 */
export function emitInboxEvent(emitter: Emitter, topic: Topic, payload: Record<string, unknown>): void {
  switch (topic.kind) {
    case 'messageUpdated':
      emitter.emit('messageUpdated', {
        ...payload,
        conversWith: topic.conversWith,
        message_id: topic.messageId,
      });
      return;
    case 'conversationUpdated':
      emitter.emit('conversationUpdated', { ...payload, conversWith: topic.conversWith });
      return;
    case 'conversationAdded':
      emitter.emit('conversationAdded', { conversWith: topic.conversWith, conversation: payload });
      return;
    case 'conversationDeleted':
      emitter.emit('conversationRemoved', { conversWith: topic.conversWith, conversation: payload });
      return;
    case 'archivedConversationAdded':
      emitter.emit('conversationArchived', { conversWith: topic.conversWith, conversation: payload });
      return;
    case 'archivedConversationDeleted':
      emitter.emit('conversationUnarchived', { conversWith: topic.conversWith, conversation: payload });
      return;
    case 'groupUpdated':
      emitter.emit('groupUpdated', {
        groupId: topic.groupId,
        group: { members: {}, ...payload, uid: topic.groupId },
      });
      return;
    case 'presenceChanged':
      emitter.emit('presence', { ...(payload as unknown as PresenceEvent), user_id: topic.peer });
      return;
    case 'typingChanged':
      emitter.emit('typing', { ...(payload as unknown as TypingEvent), conversWith: topic.conversWith });
      return;
    case 'error':
      emitter.emit('error', {
        code: String(payload.code ?? 'unknown'),
        message: String(payload.message ?? ''),
        timestamp: typeof payload.timestamp === 'number' ? payload.timestamp : Date.now(),
        ...(typeof payload.topic === 'string' ? { topic: payload.topic } : {}),
        ...(typeof payload.message_id === 'string' ? { message_id: payload.message_id } : {}),
        ...(typeof payload.retry_after_ms === 'number' ? { retry_after_ms: payload.retry_after_ms } : {}),
      });
      return;
    default:
      return;
  }
}
