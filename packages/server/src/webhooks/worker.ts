import type { Logger } from '../logger.js';
import type { Metrics } from '../metrics/metrics.js';
import { OutboxLoop } from '../outbox/outbox-loop.js';
import type { ClaimedDelivery, WebhookQueue } from '../store/webhook-queue.js';
import type { WebhookSettings } from './settings.js';
import { SIGNATURE_HEADER, signPayload } from './signature.js';

export interface WebhookWorkerDeps {
  queue: WebhookQueue;
  settings: WebhookSettings;
  log: Logger;
  metrics: Metrics;
  now: () => number;
}

const BATCH = 50;

/**
 * Posts outbox events to their endpoints, apart from message delivery: a slow or dead endpoint
 * only delays its own events. Each request is signed; failures are retried with exponential
 * backoff and dead-lettered (logged, counted, kept in the table) after `maxAttempts`.
 */
export class WebhookWorker {
  readonly #deps: WebhookWorkerDeps;
  readonly #loop: OutboxLoop;

  constructor(deps: WebhookWorkerDeps) {
    this.#deps = deps;
    const { settings, queue } = deps;
    const urls = settings.endpoints.map((endpoint) => endpoint.url);
    const leaseMs = settings.timeoutMs * 2 + 1000;
    this.#loop = new OutboxLoop({
      name: 'webhook worker',
      pollMs: settings.pollMs,
      log: deps.log,
      pass: async () => {
        const claimed = await queue.claimWebhookDeliveries(urls, deps.now(), leaseMs, BATCH);
        await Promise.all(claimed.map((delivery) => this.#send(delivery)));
        return claimed.length;
      },
    });
  }

  start(): void {
    if (this.#deps.settings.endpoints.length > 0) this.#loop.start();
  }

  /** New events were committed: look now rather than at the next poll. */
  wake(): void {
    this.#loop.wake();
  }

  stop(): Promise<void> {
    return this.#loop.stop();
  }

  async #send(delivery: ClaimedDelivery): Promise<void> {
    const { settings, queue, log, metrics, now } = this.#deps;
    const body = JSON.stringify({ ...delivery.payload, event_id: String(delivery.outboxId) });
    let failure: string | undefined;
    try {
      const response = await fetch(delivery.endpoint, {
        method: 'POST',
        headers: {
          'content-type': 'application/json',
          'x-mercurio-event': delivery.type,
          'x-mercurio-event-id': String(delivery.outboxId),
          'x-mercurio-attempt': String(delivery.attempts),
          [SIGNATURE_HEADER]: signPayload(settings.secret, body, Math.floor(now() / 1000)),
        },
        body,
        signal: AbortSignal.timeout(settings.timeoutMs),
        redirect: 'manual',
      });
      await response.body?.cancel().catch(() => {});
      if (!response.ok) failure = `HTTP ${response.status}`;
    } catch (error) {
      failure = error instanceof Error ? error.message : String(error);
    }
    if (failure === undefined) {
      await queue.completeWebhookDelivery(delivery, now());
      metrics.webhookDeliveries.inc({ event: delivery.type, result: 'delivered' });
      return;
    }
    const dead = delivery.attempts >= settings.maxAttempts;
    const backoff = Math.min(settings.retryBaseMs * 2 ** (delivery.attempts - 1), settings.retryMaxMs);
    await queue.failWebhookDelivery(delivery, failure, dead ? null : now() + backoff);
    metrics.webhookDeliveries.inc({ event: delivery.type, result: dead ? 'dead' : 'failed' });
    const context = {
      endpoint: delivery.endpoint,
      event: delivery.type,
      eventId: delivery.outboxId,
      attempt: delivery.attempts,
      error: failure,
    };
    if (dead) log.error(context, 'webhook dead-lettered after the last attempt');
    else log.warn({ ...context, retryInMs: backoff }, 'webhook delivery failed; will retry');
  }
}
