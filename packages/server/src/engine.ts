import { randomUUID } from 'node:crypto';
import type { FastifyInstance } from 'fastify';
import { signServiceToken } from './auth/tokens.js';
import type { Bus } from './bus/bus.js';
import { RabbitBus } from './bus/rabbitmq-bus.js';
import type { Config } from './config.js';
import { buildHttpApp } from './http/app.js';
import type { Logger } from './logger.js';
import { createMetrics, type Metrics } from './metrics/metrics.js';
import { Router } from './router/router.js';
import { createPgDatabase } from './store/pg-database.js';
import { openSqlStore } from './store/sql-store.js';
import type { Store } from './store/store.js';
import { WebhookOutbox } from './webhooks/outbox.js';
import { WebhookWorker } from './webhooks/worker.js';

/** Which parts run in this process: all of them by default (`mercurio serve`). */
export interface EngineParts {
  router: boolean;
  http: boolean;
}

export interface Engine {
  store: Store;
  bus: Bus;
  metrics: Metrics;
  router: Router | undefined;
  webhooks: WebhookWorker | undefined;
  http: FastifyInstance | undefined;
  /** Where the HTTP API listens, when it runs. */
  httpUrl: string | undefined;
  /**
   * Stops in the order that loses nothing: no new HTTP requests, no new inbound messages, the
   * ones in flight finished and acknowledged, webhooks in flight settled, then the connections.
   */
  stop(): Promise<void>;
}

/**
 * The composition of the engine: one store, one bus, and the parts asked for, sharing them.
 * Cleans up what it opened when a later step fails (a used port, an unreachable broker).
 */
export async function startEngine(config: Config, log: Logger, parts: EngineParts): Promise<Engine> {
  const cleanup: (() => Promise<unknown>)[] = [];
  const closeAll = async () => {
    for (const close of cleanup.reverse()) await close().catch(() => {});
  };
  try {
    const store = await openSqlStore(createPgDatabase(config.postgres.url, config.postgres.poolSize));
    cleanup.push(() => store.close());
    const jwt = config.jwt;
    const service = parts.router ? 'mercurio-router' : 'mercurio-api';
    const bus = await RabbitBus.connect({
      url: config.rabbitmq.url,
      queuePrefix: config.router.queuePrefix,
      token: () => signServiceToken(jwt, service, jwt.serviceTokenTtlSeconds),
      tokenRefreshSeconds: Math.max(30, Math.floor(jwt.serviceTokenTtlSeconds / 2)),
      retryDelayMs: config.router.retryDelayMs,
      log,
    });
    cleanup.push(() => bus.close());
    const metrics = createMetrics();

    let router: Router | undefined;
    let webhooks: WebhookWorker | undefined;
    if (parts.router) {
      const settings = config.webhooks;
      const worker = settings
        ? new WebhookWorker({
            queue: store,
            settings,
            log: log.child({ component: 'webhooks' }),
            metrics,
            now: Date.now,
          })
        : undefined;
      const outbox = new WebhookOutbox(settings, () => worker?.wake());
      router = new Router(
        { store, settings: config.router, log, now: Date.now, newId: randomUUID, webhooks: outbox },
        bus,
      );
      await router.start();
      if (worker) {
        worker.start();
        cleanup.push(() => worker.stop());
      }
      webhooks = worker;
    }

    let http: FastifyInstance | undefined;
    let httpUrl: string | undefined;
    if (parts.http) {
      http = buildHttpApp({ settings: config.http, jwt, store, bus, log });
      const registry = metrics.registry;
      http.get('/metrics', { config: { public: true } }, async (_request, reply) =>
        reply.type(registry.contentType).send(await registry.metrics()),
      );
      httpUrl = await http.listen({ port: config.http.port, host: config.http.host });
      const app = http;
      cleanup.push(() => app.close());
    }

    return {
      store,
      bus,
      metrics,
      router,
      webhooks,
      http,
      httpUrl,
      async stop() {
        router?.stop();
        await closeAll();
      },
    };
  } catch (error) {
    await closeAll();
    throw error;
  }
}
