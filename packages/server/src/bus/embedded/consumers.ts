import { setTimeout as sleep } from 'node:timers/promises';
import { outgoingNamespacePattern, topicPattern } from '@mercurio/protocol';
import type { Logger } from '../../logger.js';
import type { ConsumerSpec, InboundHandler } from '../bus.js';
import { Gate } from './gate.js';
import { topicMatches } from './topic-acl.js';

/** A message on its way to a consumer, topic in (normalized) MQTT form. */
export interface Delivery {
  topic: string;
  body: Buffer;
  redelivered: boolean;
  /** The client resent it (MQTT DUP), see InboundMessage.retransmitted. */
  retransmitted: boolean;
  /** Failed attempts before this delivery (see InboundMessage.attempts). */
  attempts: number;
  /** When the broker got it (ms), for a consumer's ttlMs. */
  receivedAt: number;
}

/** One registered consumer: what RabbitMQ's queue bound with the spec's patterns would be. */
class Consumer {
  readonly spec: ConsumerSpec;
  readonly #handler: InboundHandler;
  readonly #patterns: string[];
  readonly #gate: Gate;

  constructor(spec: ConsumerSpec, handler: InboundHandler) {
    this.spec = spec;
    this.#handler = handler;
    // The same patterns RabbitBus binds its queue with: a topic of the right shape is delivered
    // even when an id in it is invalid, so the router can answer with an error event.
    this.#patterns = spec.kinds.map((kind) => topicPattern(kind, 'mqtt', spec.app));
    if (spec.wholeOutgoingNamespace) this.#patterns.push(outgoingNamespacePattern('mqtt', spec.app));
    this.#gate = new Gate(spec.prefetch);
  }

  matches(topic: string): boolean {
    return this.#patterns.some((pattern) => topicMatches(pattern, topic));
  }

  /** Runs the handler within the prefetch bound; a message past its ttl is dropped as RabbitMQ would. */
  deliver(delivery: Delivery, now: () => number): Promise<void> {
    return this.#gate.run(async () => {
      const ttl = this.spec.ttlMs;
      if (ttl !== undefined && now() - delivery.receivedAt > ttl) return;
      await this.#handler({
        topic: delivery.topic,
        form: 'mqtt',
        body: delivery.body,
        redelivered: delivery.redelivered,
        retransmitted: delivery.retransmitted,
        attempts: delivery.attempts,
      });
    });
  }
}

/**
 * The in-process stand-in for the router's queues. Consumers with the same name compete (each
 * message goes to one of them, in turn); consumers with different names each get a copy.
 *
 * Two ways to deliver:
 * - `deliverOnce` for a client's QoS 1 publish: the caller holds the PUBACK until it resolves and
 *   disconnects the client when it rejects, so the client itself keeps the message and resends it.
 * - `deliverRetrying` for everything nobody would resend (service publications, wills, QoS 0):
 *   the message is retried here, every `retryDelayMs`, until a handler accepts it (the router
 *   accepts a message it gave up on once it dead-lettered it). This queue is in memory: it does
 *   not survive the process.
 */
export class Consumers {
  readonly #groups = new Map<string, { members: Consumer[]; next: number }>();
  readonly #inFlight = new Set<Promise<void>>();
  readonly #retryDelayMs: number;
  readonly #log: Logger;
  readonly #now: () => number;
  readonly #closing = new AbortController();
  /** Set while paused: deliveries wait for it, in arrival order (see `pause`). */
  #resumed: Promise<void> | undefined;
  #resume: (() => void) | undefined;

  constructor(options: { retryDelayMs: number; log: Logger; now: () => number }) {
    this.#retryDelayMs = options.retryDelayMs;
    this.#log = options.log;
    this.#now = options.now;
  }

  add(spec: ConsumerSpec, handler: InboundHandler): void {
    const consumer = new Consumer(spec, handler);
    const group = this.#groups.get(spec.name);
    if (group) group.members.push(consumer);
    else this.#groups.set(spec.name, { members: [consumer], next: 0 });
  }

  /** One consumer per name whose patterns match `topic`; empty when nobody listens. */
  targets(topic: string): Consumer[] {
    const targets: Consumer[] = [];
    for (const group of this.#groups.values()) {
      const matching = group.members.filter((consumer) => consumer.matches(topic));
      if (matching.length === 0) continue;
      targets.push(matching[group.next++ % matching.length]!);
    }
    return targets;
  }

  /** Every target handles the message once; rejects if any handler rejects. */
  deliverOnce(targets: readonly Consumer[], delivery: Delivery): Promise<void> {
    return this.#track(
      this.#whenRunning(() =>
        Promise.all(targets.map((consumer) => consumer.deliver(delivery, this.#now))).then(() => {}),
      ),
    );
  }

  /**
   * Stops dispatching (the router's store failed): deliveries wait here, in memory, until
   * `resume`; handlers already running go on. A client's QoS 1 publish keeps waiting for its PUBACK.
   */
  pause(): void {
    if (this.#resume) return;
    this.#resumed = new Promise((resolve) => {
      this.#resume = resolve;
    });
  }

  /** Dispatches again, the waiting deliveries first, in their order. */
  resume(): void {
    const resume = this.#resume;
    const resumed = this.#resumed;
    if (!resume || !resumed) return;
    this.#resume = undefined;
    resume();
    // Deliveries arriving before the waiting ones ran queue behind them on the same promise.
    void resumed.then(() => {
      if (this.#resumed === resumed) this.#resumed = undefined;
    });
  }

  /** Runs `work` now, or once resumed when paused. */
  #whenRunning<T>(work: () => Promise<T>): Promise<T> {
    return this.#resumed ? this.#resumed.then(work) : work();
  }

  /**
   * Hands the message to every target and keeps retrying a failing one until it succeeds (or
   * the bus closes: then it gets one last attempt). Resolves when every first attempt settled.
   */
  deliverRetrying(targets: readonly Consumer[], delivery: Delivery): Promise<void> {
    const firstAttempts = targets.map((consumer) => {
      let settled!: () => void;
      const firstAttempt = new Promise<void>((resolve) => {
        settled = resolve;
      });
      void this.#track(this.#retry(consumer, delivery, settled));
      return firstAttempt;
    });
    return Promise.all(firstAttempts).then(() => {});
  }

  /** Stop retrying: from now on a failing message gets one last attempt and is then dropped (logged). */
  stopRetrying(): void {
    this.#closing.abort();
    // A closing bus hands out what waits, for its last attempt.
    this.resume();
  }

  /** Resolves once no handler is running or waiting for a prefetch slot. */
  async drain(): Promise<void> {
    while (this.#inFlight.size > 0) await Promise.allSettled([...this.#inFlight]);
  }

  async #retry(consumer: Consumer, delivery: Delivery, firstAttemptSettled: () => void): Promise<void> {
    for (let attempt = 1; ; attempt++) {
      try {
        const again = { ...delivery, redelivered: true, attempts: delivery.attempts + attempt - 1 };
        await this.#whenRunning(() => consumer.deliver(attempt === 1 ? delivery : again, this.#now));
        return;
      } catch (error) {
        const lastAttempt = this.#closing.signal.aborted;
        this.#log.error(
          { err: error, topic: delivery.topic, consumer: consumer.spec.name, attempt },
          lastAttempt
            ? 'message processing failed while the bus closes; the message is lost'
            : 'message processing failed; will retry',
        );
        if (lastAttempt) return;
      } finally {
        if (attempt === 1) firstAttemptSettled();
      }
      await sleep(this.#retryDelayMs, undefined, { signal: this.#closing.signal }).catch(() => {});
    }
  }

  #track(work: Promise<void>): Promise<void> {
    const tracked = work.finally(() => this.#inFlight.delete(tracked));
    this.#inFlight.add(tracked);
    // Callers that do not wait must not cause an unhandled rejection.
    tracked.catch(() => {});
    return tracked;
  }
}
