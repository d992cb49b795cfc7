import type { FastifyInstance } from 'fastify';
import { signServiceToken } from './auth/tokens.js';
import { RabbitBus } from './bus/rabbitmq-bus.js';
import type { Config } from './config.js';
import { buildHttpApp } from './http/app.js';
import type { Logger } from './logger.js';
import { createPgDatabase } from './store/pg-database.js';
import { openSqlStore } from './store/sql-store.js';

export interface RunningHttpApi {
  app: FastifyInstance;
  /** The address it listens on, e.g. http://127.0.0.1:8004. */
  url: string;
  /** Stops accepting requests, finishes those in flight, closes the broker and database connections. */
  stop(): Promise<void>;
}

/** The HTTP API on RabbitMQ (publisher only, its own service JWT) and PostgreSQL. */
export async function startHttpApi(config: Config, log: Logger): Promise<RunningHttpApi> {
  const store = await openSqlStore(createPgDatabase(config.postgres.url, config.postgres.poolSize));
  const jwt = config.jwt;
  let bus: RabbitBus;
  try {
    bus = await RabbitBus.connect({
      url: config.rabbitmq.url,
      queuePrefix: config.router.queuePrefix,
      token: () => signServiceToken(jwt, 'mercurio-api', jwt.serviceTokenTtlSeconds),
      tokenRefreshSeconds: Math.max(30, Math.floor(jwt.serviceTokenTtlSeconds / 2)),
      retryDelayMs: config.router.retryDelayMs,
      log,
    });
  } catch (error) {
    await store.close();
    throw error;
  }
  const app = buildHttpApp({ settings: config.http, jwt, store, bus, log });
  try {
    const url = await app.listen({ port: config.http.port, host: config.http.host });
    return {
      app,
      url,
      async stop() {
        await app.close();
        await bus.close();
        await store.close();
      },
    };
  } catch (error) {
    await bus.close();
    await store.close();
    throw error;
  }
}
