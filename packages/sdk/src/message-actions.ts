import { formatTopic } from '@mercurio/protocol';
import type { ChatMessage, MessageChangeKind } from './message-extras.js';

/** What a user can do to a message already sent: the last level of its topic. */
export type MessageAction = 'edit' | 'delete' | 'react';

const ACTION_KINDS = { edit: 'messageEdit', delete: 'messageDelete', react: 'messageReact' } as const;

/** `apps/<app>/users/<me>/messages/<cw>/<message_id>/<action>`, in the user's own namespace. */
export function actionTopic(
  app: string,
  user: string,
  conversWith: string,
  messageId: string,
  action: MessageAction,
): string {
  return formatTopic({ kind: ACTION_KINDS[action], app, user, conversWith, messageId }, 'mqtt');
}

export interface EditContent {
  text: string;
  attributes?: Record<string, unknown>;
  metadata?: unknown;
  /** User ids mentioned in the new text. */
  mentions?: readonly string[];
}

export function editPayload(content: EditContent | string): Record<string, unknown> {
  if (typeof content === 'string') return { text: content };
  return {
    text: content.text,
    ...(content.attributes === undefined ? {} : { attributes: content.attributes }),
    ...(content.metadata === undefined ? {} : { metadata: content.metadata }),
    ...(content.mentions === undefined ? {} : { mentions: [...content.mentions] }),
  };
}

/** An action the server refused: `code` is its stable code (docs/errors.md), e.g. `not_author`. */
export class MercurioActionError extends Error {
  readonly code: string;
  /** The topic of the refused request. */
  readonly topic: string;

  constructor(code: string, message: string, topic: string) {
    super(message);
    this.name = 'MercurioActionError';
    this.code = code;
    this.topic = topic;
  }
}

interface Waiter {
  /** `<cw> <message_id> <change>`: what the server sends back when it applied the action. */
  key: string;
  topic: string;
  resolve(message: ChatMessage | undefined): void;
  reject(error: Error): void;
  timer: ReturnType<typeof setTimeout> | undefined;
}

const keyOf = (conversWith: string, messageId: string, change: MessageChangeKind) =>
  `${conversWith}\u0000${messageId}\u0000${change}`;

/**
 * Actions waiting for the server's answer: the change coming back to this client's own inbox
 * (every party gets it, the author too) settles the first one waiting for it; an error event on
 * the action's topic (the server names the refused topic) rejects the first one sent there.
 */
export class ActionWaiters {
  #waiting: Waiter[] = [];

  wait(
    conversWith: string,
    messageId: string,
    change: MessageChangeKind,
    topic: string,
  ): { settled: Promise<ChatMessage | undefined>; startClock(ms: number): void } {
    let waiter!: Waiter;
    const settled = new Promise<ChatMessage | undefined>((resolve, reject) => {
      waiter = { key: keyOf(conversWith, messageId, change), topic, resolve, reject, timer: undefined };
    });
    this.#waiting.push(waiter);
    return {
      settled,
      startClock: (ms) => {
        if (!this.#waiting.includes(waiter) || ms <= 0) return;
        waiter.timer = setTimeout(
          () =>
            this.#settle(waiter, () =>
              waiter.reject(
                new MercurioActionError(
                  'no_answer',
                  `the server did not answer within ${ms} ms (it may still apply it)`,
                  topic,
                ),
              ),
            ),
          ms,
        );
      },
    };
  }

  changed(
    conversWith: string,
    messageId: string,
    change: MessageChangeKind,
    message: ChatMessage | undefined,
  ): void {
    const key = keyOf(conversWith, messageId, change);
    const waiter = this.#waiting.find((w) => w.key === key);
    if (waiter) this.#settle(waiter, () => waiter.resolve(message));
  }

  refused(topic: string, code: string, message: string): boolean {
    const waiter = this.#waiting.find((w) => w.topic === topic);
    if (!waiter) return false;
    this.#settle(waiter, () => waiter.reject(new MercurioActionError(code, message, topic)));
    return true;
  }

  /** The client closed: nothing more will come. */
  abandon(error: Error): void {
    const waiting = this.#waiting;
    this.#waiting = [];
    for (const waiter of waiting) {
      clearTimeout(waiter.timer);
      waiter.reject(error);
    }
  }

  #settle(waiter: Waiter, settle: () => void): void {
    const at = this.#waiting.indexOf(waiter);
    if (at === -1) return;
    this.#waiting.splice(at, 1);
    clearTimeout(waiter.timer);
    settle();
  }
}
