import { conversationKindOf } from '@mercurio/protocol';
import type { Emitter } from './events.js';
import type { HeldMessages } from './held-messages.js';
import type { ActionWaiters } from './message-actions.js';
import { checkExtras, MESSAGE_CHANGES, type MessageChangeKind } from './message-extras.js';
import { checkedMessage, type ReportInvalid } from './validate.js';

/**
 * `…/messages/<cw>/<message_id>/clientupdated` events. One that says `change` carries the
 * message's whole current copy (an edit, a delete for everyone, a reaction) or, for `hidden`
 * (deleted for this user only), its id and seq: the held message is updated in place and
 * `messageChanged` emitted. A plain receipt (`{status}`, no `change`) moves the held message's
 * status on and stays a `messageUpdated` event, as before.
 */
export class MessageChanges {
  readonly #emitter: Emitter;
  readonly #held: HeldMessages;
  readonly #waiters: ActionWaiters;
  readonly #report: ReportInvalid;

  constructor(emitter: Emitter, held: HeldMessages, waiters: ActionWaiters, report: ReportInvalid) {
    this.#emitter = emitter;
    this.#held = held;
    this.#waiters = waiters;
    this.#report = report;
  }

  /** True when the payload was a change (handled here), false for a plain receipt. */
  receive(conversWith: string, messageId: string, payload: Record<string, unknown>, topic: string): boolean {
    if (payload.change === undefined) {
      this.#receipt(conversWith, messageId, payload.status);
      return false;
    }
    const change = payload.change as MessageChangeKind;
    if (!MESSAGE_CHANGES.includes(change)) {
      this.#report(`dropped a message change of unknown kind '${String(payload.change)}' (${topic})`, {
        topic,
        cause: payload.change,
      });
      return true;
    }
    let copy: ReturnType<typeof checkExtras> | undefined;
    if (change !== 'hidden') {
      const { timelineOf: _t, change: _c, ...rest } = payload;
      const checked = checkedMessage(
        conversWith,
        { ...rest, message_id: messageId },
        { topic },
        this.#report,
      );
      if (!checked) return true;
      copy = checkExtras(checked, topic, this.#report);
    }
    const { message, replies } = this.#held.change(conversWith, messageId, change, copy);
    const current = message ?? copy;
    const kind = conversationKindOf(current?.channel_type ?? payload.channel_type, conversWith);
    this.#emitter.emit('messageChanged', {
      conversWith,
      kind,
      change,
      messageId,
      ...(typeof payload.seq === 'number' ? { seq: payload.seq } : {}),
      message: current,
      replies,
    });
    this.#waiters.changed(conversWith, messageId, change, current);
    return true;
  }

  #receipt(conversWith: string, messageId: string, status: unknown): void {
    const held = this.#held.get(conversWith, messageId);
    if (held && typeof status === 'number' && status > held.status)
      held.status = status as typeof held.status;
  }
}
