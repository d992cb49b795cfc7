import { setTimeout as sleep } from 'node:timers/promises';
import {
  type ErrorCode,
  type ErrorEvent,
  formatTopic,
  parseTopic,
  type Topic,
  type TopicKind,
} from '@mercurio/protocol';
import type { Bus, ConsumerSpec, InboundMessage, Publication } from '../bus/bus.js';
import { isMercurioError, MercurioError } from '../errors.js';
import { isStoreUnavailable } from '../store/store-unavailable.js';
import { admit } from './admission.js';
import { commitMessage } from './commit.js';
import { type Pipeline, type Pipelines, type RouterContext, senderOf } from './context.js';
import { clientMessageId } from './decode.js';
import { KeyedQueue } from './keyed-queue.js';
import { archivePipeline, unarchivePipeline } from './pipelines/archive.js';
import { conversationUpdatePipeline } from './pipelines/conversation-update.js';
import { groupUpdatePipeline } from './pipelines/group-update.js';
import { historyDeliveryPipeline } from './pipelines/history-delivery.js';
import {
  messageDeletePipeline,
  messageEditPipeline,
  messageReactPipeline,
} from './pipelines/message-change.js';
import { outgoingPipeline } from './pipelines/outgoing.js';
import { presencePipeline } from './pipelines/presence.js';
import { receiptPipeline } from './pipelines/receipt.js';
import { typingPipeline } from './pipelines/typing.js';
import { messagePublications } from './publish.js';
import { decide, type FailureKind } from './retry-policy.js';
import { HandedBack, StorePause } from './store-pause.js';
import { unparsedTopicOwner } from './topic-owner.js';

export const PIPELINES: Pipelines = {
  outgoing: outgoingPipeline,
  messageUpdate: receiptPipeline,
  messageEdit: messageEditPipeline,
  messageDelete: messageDeletePipeline,
  messageReact: messageReactPipeline,
  conversationUpdate: conversationUpdatePipeline,
  archive: archivePipeline,
  unarchive: unarchivePipeline,
  presence: presencePipeline,
  typing: typingPipeline,
  groupsUpdate: groupUpdatePipeline,
  historyDelivery: historyDeliveryPipeline,
};

/** Typing indicators older than this are useless: they expire in the broker. */
const TYPING_TTL_MS = 5_000;

/** One queue per family of inbound kinds, so a flood of one kind does not delay the others. */
export function consumerSpecs(app: string | undefined, prefetch: number): ConsumerSpec[] {
  const spec = (name: string, kinds: TopicKind[], ttlMs?: number): ConsumerSpec => ({
    name,
    kinds,
    app,
    prefetch,
    ...(ttlMs === undefined ? {} : { ttlMs }),
  });
  // Sharded (several routers, docs/scaling.md): the families whose order per sender matters —
  // messages, a user's changes to their conversations, a client's presence. Receipts move a
  // watermark that never goes back, typing expires, services' commands are idempotent.
  return [
    // Unknown shapes in the outgoing namespace too: refused with invalid_topic, not dropped unheard.
    // A message's edits, deletions and reactions travel with the messages (the same family and,
    // in the router, the same conversation order key), so a change never overtakes its message.
    {
      ...spec('messages', ['outgoing', 'messageEdit', 'messageDelete', 'messageReact']),
      wholeOutgoingNamespace: true,
      sharded: true,
    },
    spec('receipts', ['messageUpdate']),
    { ...spec('conversations', ['conversationUpdate', 'archive', 'unarchive']), sharded: true },
    { ...spec('presence', ['presence']), sharded: true },
    spec('typing', ['typing'], TYPING_TTL_MS),
    spec('services', ['groupsUpdate', 'historyDelivery']),
  ];
}

/**
 * The observer: consumes what clients and services publish, runs the pipeline of its kind,
 * publishes the resulting events and only then lets the bus acknowledge the inbound message.
 * A refused message (bad input) becomes an error event for its sender and is acknowledged; any
 * other failure is thrown back to the bus, which redelivers the message later.
 */
export class Router {
  readonly #ctx: RouterContext;
  readonly #bus: Bus;
  readonly #order = new KeyedQueue();
  readonly #stopping = new AbortController();
  /** Set when the router can probe its store: then a store failure pauses it (store-pause.ts). */
  readonly #storePause: StorePause | undefined;

  /** `storeProbe.probe` resolves once the store answers (e.g. SELECT 1). */
  constructor(ctx: RouterContext, bus: Bus, storeProbe?: { probe: () => Promise<void>; timeoutMs: number }) {
    this.#ctx = ctx;
    this.#bus = bus;
    this.#storePause = storeProbe
      ? new StorePause({
          consumption: bus.pausable,
          probe: storeProbe.probe,
          probeTimeoutMs: storeProbe.timeoutMs,
          log: ctx.log,
          gauge: ctx.metrics.routerPaused,
          stopping: this.#stopping.signal,
        })
      : undefined;
  }

  async start(): Promise<void> {
    const { app, prefetch } = this.#ctx.settings;
    for (const spec of consumerSpecs(app, prefetch)) {
      await this.#bus.consume(spec, (message) => this.handle(message));
    }
    this.#ctx.log.info({ app: app ?? '*' }, 'router consuming');
  }

  async handle(message: InboundMessage): Promise<void> {
    const parsed = parseTopic(message.topic, message.form);
    if (!parsed.ok) {
      await this.#refuseUnparsed(message, parsed.reason, parsed.code);
      return;
    }
    const topic = parsed.topic;
    const pipeline = PIPELINES[topic.kind] as Pipeline<typeof topic.kind, unknown> | undefined;
    if (!pipeline) {
      this.#ctx.log.warn({ topic: message.topic }, 'no pipeline for this topic; dropped');
      return;
    }
    // The store step runs under the conversation's order key, and so does *sending* its events:
    // the bus sends in call order, so copies leave in the order their sequence numbers were
    // given. Waiting for the broker's confirms happens after the key is released, so the next
    // message of the conversation is stored while this one's confirms are on their way (the
    // inbound message is still acknowledged only after both). Failures follow the retry policy
    // (retry-policy.ts): retried in place, holding the key for the store step, so that later
    // messages cannot overtake a failing one (a nack would put it behind them); a data error goes
    // to the dead letters after a short pause, anything else back to the broker after ~30 s.
    let events: Publication[] = [];
    const stage = this.#ctx.metrics.routerStage;
    const queued = stage.startTimer({ kind: topic.kind, stage: 'queued' });
    // The key may depend on the payload (a group message's conversation is the group): decoded
    // once, here, before the key is chosen.
    const decoded = this.#decode(pipeline, message.body);
    const key = pipeline.orderKey(topic, decoded.ok ? decoded.value : undefined);
    const sent = await this.#order.run(key, async () => {
      queued();
      const processing = stage.startTimer({ kind: topic.kind, stage: 'process' });
      // A message counts against its sender's limits once, however often it is tried (a retry
      // during an outage must not make the sender look like a flooder).
      const admission = { due: !message.redelivered };
      const run = () =>
        this.#storeStep(message, () => this.#run(pipeline, topic, message, admission, decoded));
      events = await this.#retrying(message, run, run, (error, attempts, failure) =>
        this.#deadLetter(topic, message, error, attempts, failure),
      );
      processing();
      // A delivery the broker will deliver again (its channel closed) publishes nothing: its
      // copies would leave ahead of the redelivered messages before it in the conversation.
      if (message.abandoned?.()) throw new Error('delivery abandoned: the broker delivers it again');
      return outcomeLater(this.#bus.publish(events));
    });
    const confirming = stage.startTimer({ kind: topic.kind, stage: 'confirm' });
    // A publish that failed goes back to the bus, never retried here: a retry would leave outside
    // the conversation's order key, while the broker redelivers the messages after this one. The
    // redelivery runs the pipeline again in order, which finds the message stored (by its
    // message_id, or an id-less one by its content, see outgoing.ts) and publishes the stored copies.
    const error = await sent.outcome;
    if (error !== undefined) throw error;
    confirming();
  }

  /**
   * Runs `first`, then `again` after each failure, as the retry policy says: until it succeeds,
   * the policy gives up on the message (`giveUp`; without one, the message goes back to the bus),
   * or the router stops.
   */
  async #retrying<T>(
    message: InboundMessage,
    first: () => Promise<T>,
    again: () => Promise<T> = first,
    giveUp?: (error: unknown, attempts: number, failure: FailureKind) => Promise<T>,
  ): Promise<T> {
    for (let attempt = 1; ; attempt++) {
      try {
        return await (attempt === 1 ? first() : again());
      } catch (error) {
        if (error instanceof HandedBack) throw error;
        const decision = decide(this.#ctx.settings, error, attempt, message.attempts);
        if (decision.action === 'deadLetter' && giveUp)
          return giveUp(error, attempt + message.attempts, decision.kind);
        if (decision.action !== 'retry' || this.#stopping.signal.aborted) throw error;
        this.#ctx.log.warn(
          { err: error, topic: message.topic, attempt, retryInMs: decision.delayMs },
          'processing failed',
        );
        await sleep(decision.delayMs, undefined, { signal: this.#stopping.signal }).catch(() => {
          throw error;
        });
      }
    }
  }

  /**
   * The store step under the store's pause (store-pause.ts): while the router is paused it waits
   * here, holding its conversation's key, until the store answers; a delivery the bus abandoned
   * meanwhile (RabbitMQ handed it back) ends here, to be processed when it is delivered again.
   */
  async #storeStep<T>(message: InboundMessage, work: () => Promise<T>): Promise<T> {
    const pause = this.#storePause;
    if (!pause) return work();
    if (pause.paused) await pause.resumed();
    if (message.abandoned?.()) throw new HandedBack();
    try {
      return await pause.step(work);
    } catch (error) {
      if (isStoreUnavailable(error)) pause.failed(error);
      throw error;
    }
  }

  /**
   * The policy gave up on a message: it is kept as a dead letter, counted, and its sender told.
   * If keeping it fails, that failure goes back to the bus, which redelivers the message.
   */
  async #deadLetter(
    topic: Topic,
    message: InboundMessage,
    error: unknown,
    attempts: number,
    failure: FailureKind,
  ): Promise<Publication[]> {
    const reason = error instanceof Error ? error.message : String(error);
    await this.#bus.deadLetter({ message, attempts, error: reason, failedAt: this.#ctx.now() });
    this.#ctx.metrics.deadLetters.inc({ kind: topic.kind, failure });
    this.#ctx.log.error({ err: error, topic: message.topic, attempts, failure }, 'message dead-lettered');
    const told = new MercurioError(
      'processing_failed',
      `the message could not be stored (${failure} error after ${attempts} attempts) and was set aside; sending it unchanged fails again`,
    );
    return this.#refusal(topic, told, message);
  }

  /** Stop retrying in place: messages still failing go back to the broker. */
  stop(): void {
    this.#stopping.abort();
  }

  /** The pipeline's reading of the payload, or what reading it threw (met later, in `#run`). */
  #decode(pipeline: Pipeline<TopicKind, unknown>, body: Buffer): Decoded {
    if (!pipeline.decode) return { ok: true, value: undefined };
    try {
      return { ok: true, value: pipeline.decode(this.#ctx, body) };
    } catch (error) {
      return { ok: false, error };
    }
  }

  async #run(
    pipeline: Pipeline<TopicKind, unknown>,
    topic: Topic,
    message: InboundMessage,
    admission: { due: boolean },
    decoded: Decoded,
  ): Promise<Publication[]> {
    try {
      if (admission.due) {
        await admit(this.#ctx.limits, topic, message.body);
        admission.due = false;
      }
      if (!decoded.ok) throw decoded.error;
      // Decide: the pipeline validates and says what to write and publish.
      const decision = await pipeline.run(this.#ctx, {
        topic,
        body: message.body,
        redelivered: message.redelivered,
        retransmitted: message.redelivered || message.retransmitted,
        decoded: decoded.value,
      });
      if ('publish' in decision) return [...decision.publish];
      // Commit: a new message in one transaction, its webhook outbox included; then its copies.
      const recorded = await commitMessage(this.#ctx, decision.commit);
      return messagePublications(decision.commit, recorded);
    } catch (error) {
      if (!isMercurioError(error)) throw error;
      return this.#refusal(topic, error, message);
    }
  }

  /** The error event telling the sender why their publish was refused (none for service topics). */
  #refusal(topic: Topic, error: MercurioError, message: InboundMessage): Publication[] {
    const user = senderOf(topic);
    this.#ctx.log.warn(
      { code: error.code, topic: message.topic, user, reason: error.message },
      'message refused',
    );
    if (!user) return [];
    return [
      errorEvent(
        topic.app,
        user,
        error.code,
        error.message,
        formatTopic(topic, 'mqtt'),
        message,
        this.#ctx.now(),
        error.details?.retry_after_ms,
      ),
    ];
  }

  async #refuseUnparsed(message: InboundMessage, reason: string, code: ErrorCode): Promise<void> {
    const owner = unparsedTopicOwner(message.topic, message.form);
    this.#ctx.log.warn({ topic: message.topic, reason }, 'topic refused');
    if (!owner) return;
    const mqttTopic = message.form === 'amqp' ? message.topic.replaceAll('.', '/') : message.topic;
    await this.#bus.publish([
      errorEvent(owner.app, owner.user, code, reason, mqttTopic, message, this.#ctx.now()),
    ]);
  }
}

type Decoded = { ok: true; value: unknown } | { ok: false; error: unknown };

/** The message an edit, delete or reaction names in its topic (an MQTT-form topic string here). */
function changedMessageId(topic: string): string | undefined {
  const parsed = parseTopic(topic, 'mqtt');
  if (!parsed.ok) return undefined;
  const { topic: t } = parsed;
  return t.kind === 'messageEdit' || t.kind === 'messageDelete' || t.kind === 'messageReact'
    ? t.messageId
    : undefined;
}

function errorEvent(
  app: string,
  user: string,
  code: ErrorCode,
  reason: string,
  topic: string,
  message: InboundMessage,
  now: number,
  retryAfterMs?: unknown,
): Publication {
  const event: ErrorEvent = { code, message: reason, topic, timestamp: now };
  const messageId = clientMessageId(message.body) ?? changedMessageId(topic);
  if (messageId) event.message_id = messageId;
  if (typeof retryAfterMs === 'number') event.retry_after_ms = retryAfterMs;
  return { topic: { kind: 'error', app, user }, payload: event };
}

/**
 * The outcome of a publish, to be awaited later: its rejection is held as a value (no unhandled
 * rejection meanwhile), and it is boxed so that returning it from the order-key task does not
 * make that task wait for it (an async function adopts a returned promise).
 */
function outcomeLater(promise: Promise<void>): { outcome: Promise<unknown> } {
  return {
    outcome: promise.then(
      () => undefined,
      (error: unknown) => error ?? new Error('publish failed'),
    ),
  };
}
