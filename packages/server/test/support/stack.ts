import { randomUUID } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { inboxPattern } from '@mercurio/protocol';
import type { FastifyInstance } from 'fastify';
import type { IClientOptions } from 'mqtt';
import pg from 'pg';
import { signUserToken } from '../../src/auth/tokens.js';
import { type Config, loadConfig } from '../../src/config.js';
import { type Engine, startEngine } from '../../src/engine.js';
import { buildHttpApp, type HttpDeps } from '../../src/http/app.js';
import type { HttpSettings } from '../../src/http/settings.js';
import { createLogger } from '../../src/logger.js';
import { TestClient } from './mqtt-client.js';
import { deleteRouterQueues } from './router-queues.js';
import { services } from './services.js';

/**
 * Shards per sharded family on the shared test broker: 4 (production: 12) keeps a stack at 12
 * shard queues, still one per router for the 1–4 routers the scaling tests run.
 */
const TEST_SHARDS = '4';

export type EngineKind = 'rabbitmq' | 'embedded';
/** Both engines, for `describe.each(ENGINES)`: every router flow runs on each. */
export const ENGINES: EngineKind[] = ['rabbitmq', 'embedded'];

/** What tests query the database through: node-postgres on RabbitMQ + PostgreSQL, PGlite embedded. */
export interface TestSql {
  // biome-ignore lint/suspicious/noExplicitAny: rows are whatever the test selected
  query<Row = any>(text: string, params?: unknown[]): Promise<{ rows: Row[] }>;
}

/**
 * A router of its own for one test file. On RabbitMQ + PostgreSQL (the shared test services) it
 * has its own app id and queue prefix, so files running in parallel never see each other's
 * messages; embedded, it has its own Aedes broker and PGlite database in a temporary folder.
 */
export class TestStack {
  readonly app: string;
  readonly config: Config;
  readonly engine: EngineKind;
  readonly #pool: pg.Pool | undefined;
  readonly #clients: TestClient[] = [];
  readonly #apps: FastifyInstance[] = [];
  readonly #dataDir: string | undefined;
  router: Engine | undefined;

  constructor(name: string, overrides: Record<string, string> = {}, engine: EngineKind = 'rabbitmq') {
    const env = services();
    const suffix = randomUUID().slice(0, 8);
    this.app = `${name}-${suffix}`;
    this.engine = engine;
    this.#dataDir = engine === 'embedded' ? mkdtempSync(join(tmpdir(), 'mercurio-test-')) : undefined;
    const where =
      engine === 'rabbitmq'
        ? { MERCURIO_AMQP_URL: env.amqpUrl, MERCURIO_DATABASE_URL: env.pgUrl }
        : { MERCURIO_DATA_DIR: this.#dataDir!, MERCURIO_MQTT_PORT: '0', MERCURIO_HTTP_PORT: '0' };
    this.config = loadConfig({
      MERCURIO_JWT_SECRET: env.jwtSecret,
      ...where,
      MERCURIO_APP_ID: this.app,
      MERCURIO_QUEUE_PREFIX: `test-${this.app}`,
      MERCURIO_LOG_LEVEL: process.env.MERCURIO_TEST_LOG_LEVEL ?? 'silent',
      MERCURIO_RETRY_DELAY_MS: '100',
      MERCURIO_ROUTER_SHARDS: TEST_SHARDS,
      ...overrides,
    });
    // Read bigint columns (seq) as numbers, as the store does.
    const types = {
      getTypeParser: (oid: number, format?: 'text' | 'binary') =>
        oid === pg.types.builtins.INT8 ? Number : pg.types.getTypeParser(oid, format),
    } as pg.CustomTypesConfig;
    this.#pool =
      engine === 'rabbitmq' ? new pg.Pool({ connectionString: env.pgUrl, max: 2, types }) : undefined;
  }

  /** The stack's database, for assertions on what was stored. */
  get sql(): TestSql {
    if (this.#pool) return this.#pool;
    if (!this.router) throw new Error('start the router before querying the embedded database');
    return this.router.db as TestSql;
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
      MERCURIO_ROUTER_SHARDS: TEST_SHARDS,
    };
  }

  /**
   * The router (and webhook worker) of this stack, in this process; with `http`, also the HTTP API
   * (always embedded, where MQTT over WebSocket is served by the HTTP server; on RabbitMQ construct
   * the stack with `MERCURIO_HTTP_PORT: '0'`).
   */
  async startRouter(options: { http?: boolean } = {}): Promise<Engine> {
    const http = options.http === true || this.engine === 'embedded';
    this.router = await startEngine(this.config, createLogger(this.config.logLevel), { router: true, http });
    return this.router;
  }

  /** Where clients connect: the test RabbitMQ, or this stack's embedded broker. */
  #endpoint(transport: 'ws' | 'tcp'): string {
    if (this.engine === 'rabbitmq') return transport === 'ws' ? services().wsUrl : services().mqttUrl;
    const mqtt = this.router?.mqtt;
    if (!mqtt) throw new Error('start the router before connecting clients to the embedded broker');
    return transport === 'ws' ? mqtt.wsUrl! : mqtt.tcpUrl;
  }

  /** A stored group of this stack's app, as the HTTP API would create it. */
  async createGroup(uid: string, owner: string, members: string[]): Promise<void> {
    const router = this.router ?? (await this.startRouter());
    const now = Date.now();
    await router.store.createGroupIfAbsent({
      app: this.app,
      uid,
      name: uid,
      owner,
      members,
      attributes: null,
      volatile: false,
      createdOn: now,
      updatedOn: now,
    });
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
      deadLetters: router.deadLetters,
      bus: router.bus,
      log: createLogger(this.config.logLevel),
      limits: router.limits,
      // The engine's relay: it publishes only this app's outbox entries (the test database is shared).
      publications: router.publications,
      policies: router.policies,
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
    const client = await TestClient.connect(this.#endpoint(transport), await this.token(user), {
      clientId: `${user}-${randomUUID().slice(0, 8)}`,
      ...mqttOptions,
    });
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
    if (this.engine === 'rabbitmq' && this.router) await deleteRouterQueues(this.config).catch(() => {});
    await this.#pool?.end();
    if (this.#dataDir) rmSync(this.#dataDir, { recursive: true, force: true });
  }
}
