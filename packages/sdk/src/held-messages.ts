import type { ChatMessage, MessageChangeKind } from './message-extras.js';
import { quoteText } from './message-extras.js';

/** Keys of a changed copy that describe the event, not the message. */
const EVENT_KEYS = new Set(['timelineOf', 'change']);

/**
 * The messages the client handed to the app (live, gap-filled, or from `history()`), the latest
 * `perConversation` of each conversation, so that a change updates the very object the app holds:
 * an edit or a delete rewrites it in place, and each held reply quoting it has its quote follow.
 * A change for a message not handed over yet (it waits behind a gap, or a reconnect holds it) is
 * kept and applied when that message arrives, so the app never gets a stale copy after a change.
 */
export class HeldMessages {
  readonly #conversations = new Map<string, Map<string, ChatMessage>>();
  /** Changes that came before their message: id → the changed copy, or 'hidden'. */
  readonly #early = new Map<string, ChatMessage | 'hidden'>();
  readonly #perConversation: number;

  constructor(perConversation = 500) {
    this.#perConversation = perConversation;
  }

  /**
   * A message handed to the app: the object to hand over (the one already held, brought up to
   * date, or this one), or undefined when it was hidden for this user before it arrived.
   */
  admit(conversWith: string, message: ChatMessage): ChatMessage | undefined {
    const early = this.#early.get(message.message_id);
    if (early !== undefined) {
      this.#early.delete(message.message_id);
      if (early === 'hidden') return undefined;
      rewrite(message, early);
    }
    const messages = this.#messagesOf(conversWith);
    const held = messages.get(message.message_id);
    if (held) {
      rewrite(held, message);
      return held;
    }
    messages.set(message.message_id, message);
    if (messages.size > this.#perConversation) {
      const oldest = messages.keys().next().value;
      if (oldest !== undefined) messages.delete(oldest);
    }
    return message;
  }

  get(conversWith: string, messageId: string): ChatMessage | undefined {
    return this.#conversations.get(conversWith)?.get(messageId);
  }

  /**
   * A change: the held message rewritten in place (or dropped, when hidden), and the held replies
   * whose quote of it changed. Returns the held message (undefined when none was held).
   */
  change(
    conversWith: string,
    messageId: string,
    change: MessageChangeKind,
    copy: ChatMessage | undefined,
  ): { message: ChatMessage | undefined; replies: ChatMessage[] } {
    const messages = this.#conversations.get(conversWith);
    const held = messages?.get(messageId);
    if (change === 'hidden') {
      messages?.delete(messageId);
      if (!held) this.#remember(messageId, 'hidden');
      return { message: held, replies: [] };
    }
    if (!copy) return { message: held, replies: [] };
    if (!held) {
      this.#remember(messageId, copy);
      return { message: undefined, replies: [] };
    }
    const textBefore = held.text;
    rewrite(held, copy);
    const replies: ChatMessage[] = [];
    if (change === 'edited' || change === 'deleted' || held.text !== textBefore) {
      for (const reply of messages?.values() ?? []) {
        const quote = reply.quote;
        if (!quote || quote.message_id !== messageId) continue;
        const next = { ...quote, text: held.deleted_at === undefined ? quoteText(held.text) : '' };
        if (held.deleted_at !== undefined) next.deleted = true;
        if (next.text === quote.text && next.deleted === quote.deleted) continue;
        reply.quote = next;
        replies.push(reply);
      }
    }
    return { message: held, replies };
  }

  #messagesOf(conversWith: string): Map<string, ChatMessage> {
    let messages = this.#conversations.get(conversWith);
    if (!messages) {
      messages = new Map();
      this.#conversations.set(conversWith, messages);
    }
    return messages;
  }

  #remember(messageId: string, change: ChatMessage | 'hidden'): void {
    this.#early.set(messageId, change);
    if (this.#early.size > 1000) {
      const oldest = this.#early.keys().next().value;
      if (oldest !== undefined) this.#early.delete(oldest);
    }
  }
}

/**
 * `target` becomes `source` (the server's whole current copy): keys it lost go (a tombstone has
 * no attributes, a last reaction removed leaves no `reactions`), the status never goes back (a
 * receipt may have moved it on since), the seq never changes.
 */
function rewrite(target: ChatMessage, source: ChatMessage): void {
  if (target === source) return;
  const status = Math.max(Number(target.status) || 0, Number(source.status) || 0);
  const seq = target.seq;
  for (const key of Object.keys(target)) if (!(key in source)) delete target[key];
  for (const [key, value] of Object.entries(source)) if (!EVENT_KEYS.has(key)) target[key] = value;
  target.status = status as ChatMessage['status'];
  if (seq) target.seq = seq;
}
