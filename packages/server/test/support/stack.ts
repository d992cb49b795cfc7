import { randomUUID } from 'node:crypto';
import { inboxPattern } from '@mercurio/protocol';
import type { FastifyInstance } from 'fastify';
import type { IClientOptions } from 'mqtt';
import pg from 'pg';
import { signUserToken } from '../../src/auth/tokens.js';
import { type Config, type HttpSettings, loadConfig } from '../../src/config.js';
import { buildHttpApp, type HttpDeps } from '../../src/http/app.js';
import { createLogger } from '../../src/logger.js';
import { type Engine, startEngine } from '../../src/engine.js';
import { TestClient } from './mqtt-client.js';
import { services } from './services.js';

/**
 * A router of its own for one test file, on the shared RabbitMQ and PostgreSQL: its own app id
 * and queue prefix, so files running in parallel never see each other's messages.
 */
export class TestStack {
  readonly app: string;
  readonly config: Config;
  readonly sql: pg.Pool;
  readonly #clients: TestClient[] = [];
  readonly #apps: FastifyInstance[] = [];
  router: Engine | undefined;

  constructor(name: string, overrides: Record<string, string> = {}) {
    const env = services();
    const suffix = randomUUID().slice(0, 8);
    this.app = `${name}-${suffix}`;
    this.config = loadConfig({
      MERCURIO_JWT_SECRET: env.jwtSecret,
      MERCURIO_AMQP_URL: env.amqpUrl,
      MERCURIO_DATABASE_URL: env.pgUrl,
      MERCURIO_APP_ID: this.app,
      MERCURIO_QUEUE_PREFIX: `test-${this.app}`,
      MERCURIO_LOG_LEVEL: process.env.MERCURIO_TEST_LOG_LEVEL ?? 'silent',
      MERCURIO_RETRY_DELAY_MS: '100',
      ...overrides,
    });
    // Read bigint columns (seq) as numbers, as the store does.
    const types = {
      getTypeParser: (oid: number, format?: 'text' | 'binary') =>
        oid === pg.types.builtins.INT8 ? Number : pg.types.getTypeParser(oid, format),
    } as pg.CustomTypesConfig;
    this.sql = new pg.Pool({ connectionString: env.pgUrl, max: 2, types });
  }

  /** The environment a router child process needs to join this stack. */
  get routerEnv(): Record<string, string> {
    const env = services();
    return {
      MERCURIO_JWT_SECRET: env.jwtSecret,
      MERCURIO_AMQP_URL: env.amqpUrl,
      MERCURIO_DATABASE_URL: env.pgUrl,
      MERCURIO_APP_ID: this.app,
      MERCURIO_QUEUE_PREFIX: `test-${this.app}`,
      MERCURIO_LOG_LEVEL: 'warn',
    };
  }

  /** The router (and webhook worker) of this stack, in this process. */
  async startRouter(): Promise<Engine> {
    this.router = await startEngine(this.config, createLogger(this.config.logLevel), { router: true, http: false });
    return this.router;
  }

  token(user: string, ttlSeconds = 3600): Promise<string> {
    return signUserToken(this.config.jwt, { app: this.app, user, ttlSeconds });
  }

  /** A token with `tiledesk_api_roles: "admin"` for this app (acts for any user on the HTTP API). */
  adminToken(user = 'api-admin', ttlSeconds = 3600): Promise<string> {
    return signUserToken(this.config.jwt, { app: this.app, user, ttlSeconds, role: 'admin' });
  }

  /**
   * The HTTP API on this stack's router (its Store and Bus), ready for `inject`; starts the router
   * if needed. Closed with the stack.
   */
  async http(settings: Partial<HttpSettings> = {}, deps: Partial<HttpDeps> = {}): Promise<FastifyInstance> {
    const router = this.router ?? (await this.startRouter());
    const app = buildHttpApp({
      settings: { ...this.config.http, ...settings },
      jwt: this.config.jwt,
      store: router.store,
      bus: router.bus,
      log: createLogger(this.config.logLevel),
      ...deps,
    });
    this.#apps.push(app);
    await app.ready();
    return app;
  }

  /** A user connected over WebSocket (default) or TCP and subscribed to their whole inbox. */
  async client(
    user: string,
    options: { transport?: 'ws' | 'tcp'; subscribe?: boolean } & IClientOptions = {},
  ): Promise<TestClient> {
    const { transport = 'ws', subscribe = true, ...mqttOptions } = options;
    const env = services();
    const client = await TestClient.connect(
      transport === 'ws' ? env.wsUrl : env.mqttUrl,
      await this.token(user),
      {
        clientId: `${user}-${randomUUID().slice(0, 8)}`,
        ...mqttOptions,
      },
    );
    this.#clients.push(client);
    if (subscribe) await client.subscribe(inboxPattern(this.app, user, 'mqtt'));
    return client;
  }

  /** `apps/<app>/…` in MQTT form. */
  topic(...levels: string[]): string {
    return ['apps', this.app, ...levels].join('/');
  }

  outgoing(sender: string, recipient: string): string {
    return this.topic('outgoing', 'users', sender, 'messages', recipient, 'outgoing');
  }

  async close(): Promise<void> {
    await Promise.allSettled(this.#apps.map((app) => app.close()));
    await Promise.allSettled(this.#clients.map((client) => client.end()));
    await this.router?.stop();
    await this.sql.end();
  }
}
