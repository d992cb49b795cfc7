import { randomUUID } from 'node:crypto';
import { signServiceToken } from './auth/tokens.js';
import type { Bus } from './bus/bus.js';
import { RabbitBus } from './bus/rabbitmq-bus.js';
import type { Config } from './config.js';
import type { Logger } from './logger.js';
import { Router } from './router/router.js';
import { createPgDatabase } from './store/pg-database.js';
import { openSqlStore } from './store/sql-store.js';
import type { Store } from './store/store.js';

export interface RunningRouter {
  router: Router;
  bus: Bus;
  store: Store;
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
  const router = new Router({ store, settings: config.router, log, now: Date.now, newId: randomUUID }, bus);
  await router.start();
  return {
    router,
    bus,
    store,
    async stop() {
      await bus.close();
      await store.close();
    },
  };
}
