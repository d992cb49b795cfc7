import type { Topic, TopicKind, TopicOf } from '@mercurio/protocol';
import type { AbuseLimits } from '../limits/abuse-limits.js';
import type { Logger } from '../logger.js';
import type { MessageActionSettings } from '../message-actions/settings.js';
import type { Metrics } from '../metrics/metrics.js';
import type { RouterStore } from '../store/router-store.js';
import type { WebhookOutbox } from '../webhooks/outbox.js';
import type { Decision } from './decision.js';
import type { MessageAttachments } from './message-attachments.js';
import type { SenderNames } from './sender-names.js';
import type { RouterSettings } from './settings.js';

/** What a pipeline may use. Time and ids come from here so tests can pin them. */
export interface RouterContext {
  /** The store's slice the router writes and reads. */
  store: RouterStore;
  settings: RouterSettings;
  /** Editing, deleting and reacting to messages (issue 15). */
  messageActions: MessageActionSettings;
  log: Logger;
  now: () => number;
  newId: () => string;
  /** Which webhook events to write, for which endpoints. */
  webhooks: WebhookOutbox;
  metrics: Pick<Metrics, 'routerStage' | 'deadLetters' | 'routerPaused'>;
  /** Per-user abuse limits (messages, signals, groups created). */
  limits: Pick<AbuseLimits, 'take'>;
  /** The display names the server trusts, put on messages and typing events. */
  senderNames: Pick<SenderNames, 'nameOf'>;
  /** The attachments a message may send (router/message-attachments.ts); without it none are checked. */
  attachments?: MessageAttachments;
}

export interface Inbound<K extends TopicKind, D = undefined> {
  topic: TopicOf<K>;
  body: Buffer;
  redelivered: boolean;
  /**
   * This delivery may repeat one already processed: the broker redelivered it, or its client says
   * it resends it (MQTT DUP, the client's word: good only for finding the copy already stored).
   */
  retransmitted: boolean;
  /** What the pipeline's `decode` made of `body` (undefined for a pipeline without one). */
  decoded: D;
}

/**
 * One inbound kind's work: validate and decide. A new message is returned as data (the router's
 * commit step writes it, its publish step sends its copies); other kinds make their one small
 * write and return the events to publish. The router acknowledges the inbound message only
 * after the broker confirmed every event.
 */
export interface Pipeline<K extends TopicKind, D = undefined> {
  /**
   * Reads the payload before the order key is chosen, for a pipeline whose key depends on it (a
   * message's conversation: a group or a pair of users). Its result goes to `orderKey` and `run`,
   * so the payload is parsed once. What it throws is the message's outcome, met after the sender's
   * admission, exactly as if `run` had thrown it; the key is then `orderKey(topic, undefined)`.
   */
  decode?(ctx: RouterContext, body: Buffer): D;
  /**
   * Messages with the same key are processed one after another, in arrival order, and their
   * events sent in that order.
   */
  orderKey(topic: TopicOf<K>, decoded: D | undefined): string;
  run(ctx: RouterContext, inbound: Inbound<K, D>): Promise<Decision>;
}

export type Pipelines = { [K in TopicKind]?: Pipeline<K, unknown> };

/** The user to tell when their publish is refused (service topics have none). */
export function senderOf(topic: Topic): string | undefined {
  switch (topic.kind) {
    case 'groupsUpdate':
    case 'historyDelivery':
      return undefined;
    default:
      return 'user' in topic ? topic.user : undefined;
  }
}
