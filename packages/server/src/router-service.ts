import { randomUUID } from 'node:crypto';
import { signServiceToken } from './auth/tokens.js';
import type { Bus } from './bus/bus.js';
import { RabbitBus } from './bus/rabbitmq-bus.js';
import type { Config } from './config.js';
import type { Logger } from './logger.js';
import { createMetrics, type Metrics } from './metrics/metrics.js';
import { Router } from './router/router.js';
import { createPgDatabase } from './store/pg-database.js';
import { openSqlStore } from './store/sql-store.js';
import type { Store } from './store/store.js';
import { WebhookOutbox } from './webhooks/outbox.js';
import type { WebhookSettings } from './webhooks/settings.js';
import { WebhookWorker } from './webhooks/worker.js';

const NO_WEBHOOKS: WebhookSettings = {
  endpoints: [],
  secret: '',
  maxAttempts: 1,
  retryBaseMs: 1000,
  retryMaxMs: 1000,
  timeoutMs: 1000,
  pollMs: 1000,
};

export interface RunningRouter {
  router: Router;
  bus: Bus;
  store: Store;
  metrics: Metrics;
  webhooks: WebhookWorker;
  /** Stops consuming, finishes what is in flight, closes the broker and database connections. */
  stop(): Promise<void>;
}

/** The router on RabbitMQ and PostgreSQL, authenticated to the broker with its own service JWT. */
export async function startRabbitRouter(config: Config, log: Logger): Promise<RunningRouter> {
  const store = await openSqlStore(createPgDatabase(config.postgres.url, config.postgres.poolSize));
  const jwt = config.jwt;
  let bus: RabbitBus;
  try {
    bus = await RabbitBus.connect({
      url: config.rabbitmq.url,
      queuePrefix: config.router.queuePrefix,
      token: () => signServiceToken(jwt, 'mercurio-router', jwt.serviceTokenTtlSeconds),
      tokenRefreshSeconds: Math.max(30, Math.floor(jwt.serviceTokenTtlSeconds / 2)),
      retryDelayMs: config.router.retryDelayMs,
      log,
    });
  } catch (error) {
    await store.close();
    throw error;
  }
  const metrics = createMetrics();
  const webhookSettings = config.webhooks;
  const worker = new WebhookWorker({
    queue: store,
    settings: webhookSettings ?? NO_WEBHOOKS,
    log: log.child({ component: 'webhooks' }),
    metrics,
    now: Date.now,
  });
  const webhooks = new WebhookOutbox(webhookSettings, () => worker.wake());
  const router = new Router({ store, settings: config.router, log, now: Date.now, newId: randomUUID, webhooks }, bus);
  await router.start();
  worker.start();
  return {
    router,
    bus,
    store,
    metrics,
    webhooks: worker,
    async stop() {
      router.stop();
      await bus.close();
      await worker.stop();
      await store.close();
    },
  };
}
