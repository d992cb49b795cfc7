import type {
  ConversationKind,
  ConversationView,
  GroupPayload,
  MessageUpdatedEvent,
  PresenceEvent,
  TypingEvent,
} from '@mercurio/protocol';
import type { ChatMessage, MessageChangeKind } from './message-extras.js';

/** Connection states; `unauthorized` is final until the app supplies a new token (`reconnect`). */
export type ConnectionState = 'connecting' | 'connected' | 'reconnecting' | 'disconnected' | 'unauthorized';

export interface StateChange {
  old: ConnectionState;
  new: ConnectionState;
  /** Why, when the change was caused by a failure. */
  reason?: string;
}

/** Where an emitted message came from: the live inbox, or the history API filling a gap. */
export type MessageSource = 'live' | 'gap-fill';

export interface MessageAdded {
  conversWith: string;
  /**
   * The conversation's kind: the message's `channel_type` (stamped by the server on every copy),
   * or Chat21's id rule for copies without one. A direct and a group conversation may share an
   * id; an app keys conversations by (kind, conversWith) so that one can never turn into the other.
   */
  kind: ConversationKind;
  /** Held by the client: later changes (`messageChanged`) update this very object. */
  message: ChatMessage;
  source: MessageSource;
}

export interface MessageUpdated extends Partial<MessageUpdatedEvent> {
  conversWith: string;
  message_id: string;
}

/**
 * A message changed after it was sent: `edited`, `deleted` (for everyone: now a tombstone),
 * `reactions` (counts changed), or `hidden` (deleted for this user only: remove it from view).
 */
export interface MessageChanged {
  conversWith: string;
  kind: ConversationKind;
  change: MessageChangeKind;
  messageId: string;
  /** `hidden` says the message's seq (it keeps its place in the conversation's numbering). */
  seq?: number;
  /**
   * The message as it is now: the very object the client handed over earlier (`message` event,
   * `history()`), updated in place, or the server's copy when the client held none. For `hidden`
   * the object the client held, if any (it holds it no more).
   */
  message: ChatMessage | undefined;
  /** Held replies whose quote of this message changed with it (updated in place too). */
  replies: ChatMessage[];
}

/** `…/conversations/<cw>/clientupdated`: `{is_new, unread_count, read_seq}` (and whatever else came). */
export interface ConversationUpdated extends Partial<ConversationView> {
  conversWith: string;
}

export interface ConversationChange {
  conversWith: string;
  conversation: Partial<ConversationView>;
}

export interface GroupUpdated {
  groupId: string;
  group: GroupPayload;
}

/**
 * A server error event (`…/errors/clientadded`, stable `code` from docs/errors.md) or an SDK
 * failure (codes `gap_fill_failed`, `connection_error`, `invalid_event`, `listener_error`).
 * `invalid_event`: an inbound payload that did not fit its schema was dropped; `topic` is where it
 * arrived (absent for a history page), `cause` lists the problems.
 */
export interface MercurioErrorEvent {
  code: string;
  message: string;
  topic?: string;
  message_id?: string;
  /** `rate_limited`: wait this long (ms) before sending again. */
  retry_after_ms?: number;
  timestamp: number;
  cause?: unknown;
}

/** The client's typed event map: `client.on('message', (e) => …)`. */
export interface MercurioEvents {
  message: MessageAdded;
  messageUpdated: MessageUpdated;
  messageChanged: MessageChanged;
  conversationAdded: ConversationChange;
  conversationUpdated: ConversationUpdated;
  conversationRemoved: ConversationChange;
  conversationArchived: ConversationChange;
  conversationUnarchived: ConversationChange;
  groupUpdated: GroupUpdated;
  presence: PresenceEvent;
  typing: TypingEvent;
  error: MercurioErrorEvent;
  state: StateChange;
  /** After a (re)connect: the outbox is flushed and every known conversation's gaps are filled. */
  uptodate: { conversations: number; filled: number };
  /** An outbox entry reached the broker (PUBACK). */
  sent: { id: string; topic: string };
}

export type EventName = keyof MercurioEvents;
export type Listener<K extends EventName> = (event: MercurioEvents[K]) => void;

/** A small typed emitter. A throwing listener never breaks the client: it becomes an `error` event. */
export class Emitter {
  readonly #listeners = new Map<EventName, Set<(event: never) => void>>();

  on<K extends EventName>(name: K, listener: Listener<K>): () => void {
    let set = this.#listeners.get(name);
    if (!set) {
      set = new Set();
      this.#listeners.set(name, set);
    }
    set.add(listener as (event: never) => void);
    return () => this.off(name, listener);
  }

  once<K extends EventName>(name: K, listener: Listener<K>): () => void {
    const off = this.on(name, (event) => {
      off();
      listener(event);
    });
    return off;
  }

  off<K extends EventName>(name: K, listener: Listener<K>): void {
    this.#listeners.get(name)?.delete(listener as (event: never) => void);
  }

  emit<K extends EventName>(name: K, event: MercurioEvents[K]): void {
    const set = this.#listeners.get(name);
    if (!set) return;
    for (const listener of [...set]) {
      try {
        (listener as Listener<K>)(event);
      } catch (cause) {
        if (name !== 'error') {
          this.emit('error', {
            code: 'listener_error',
            message: `a '${name}' listener threw: ${String(cause)}`,
            timestamp: Date.now(),
            cause,
          });
        }
      }
    }
  }
}
