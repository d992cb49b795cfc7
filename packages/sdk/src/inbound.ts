import { parseTopic } from '@mercurio/protocol';
import type { Emitter } from './events.js';
import { emitInboxEvent } from './inbox-events.js';
import type { InboxSync } from './inbox-sync.js';
import type { MessageChanges } from './message-changes.js';
import { checkExtras } from './message-extras.js';
import { checkedMessage, isObject, type ReportInvalid } from './validate.js';

/**
 * What arrives on the inbox subscription, by topic: new messages (checked) to the sync, which
 * orders and deduplicates them; every other event (checked) straight to the app. Unknown topics
 * are ignored, as Chat21 clients do; a payload that is not a JSON object, or does not fit its
 * event's schema, is reported (`invalid_event`) and dropped.
 */
export class InboundDispatch {
  readonly #emitter: Emitter;
  readonly #sync: InboxSync;
  readonly #report: ReportInvalid;
  readonly #changes: MessageChanges;
  readonly #copyArrived: ((messageId: string) => void) | undefined;

  constructor(
    emitter: Emitter,
    sync: InboxSync,
    report: ReportInvalid,
    changes: MessageChanges,
    /** A checked message copy (stored: it has its seq) reached the inbox, before any ordering hold. */
    copyArrived?: (messageId: string) => void,
  ) {
    this.#emitter = emitter;
    this.#sync = sync;
    this.#report = report;
    this.#changes = changes;
    this.#copyArrived = copyArrived;
  }

  receive(topicText: string, raw: Uint8Array): void {
    const parsed = parseTopic(topicText, 'mqtt');
    if (!parsed.ok) return;
    let payload: unknown;
    try {
      payload = JSON.parse(new TextDecoder().decode(raw));
    } catch (cause) {
      this.#report(`unparsable payload on ${topicText}`, { topic: topicText, cause });
      return;
    }
    if (!isObject(payload)) {
      this.#report(`payload on ${topicText} is not an object`, { topic: topicText, cause: payload });
      return;
    }
    const topic = parsed.topic;
    // A change (edit, delete, reactions) rides on the receipt topic; a plain receipt goes on below.
    if (
      topic.kind === 'messageUpdated' &&
      this.#changes.receive(topic.conversWith, topic.messageId, payload, topicText)
    )
      return;
    if (topic.kind !== 'messageAdded') {
      emitInboxEvent(this.#emitter, topic, payload, topicText, this.#report);
      return;
    }
    const message = checkedMessage(topic.conversWith, payload, { topic: topicText }, this.#report);
    if (!message) return;
    this.#copyArrived?.(message.message_id);
    this.#sync.receive(topic.conversWith, checkExtras(message, topicText, this.#report));
  }
}
