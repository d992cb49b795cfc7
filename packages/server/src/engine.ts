import { randomUUID } from 'node:crypto';
import { hostname } from 'node:os';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import type { FastifyInstance } from 'fastify';
import { Attachments } from './attachments/attachments.js';
import { openBlobStore } from './attachments/open-blob-store.js';
import { OrphanSweeper } from './attachments/orphan-sweeper.js';
import { signServiceToken } from './auth/tokens.js';
import type { Bus } from './bus/bus.js';
import { EmbeddedBus } from './bus/embedded/embedded-bus.js';
import { RabbitBus } from './bus/rabbitmq-bus.js';
import type { Config } from './config.js';
import { buildHttpApp } from './http/app.js';
import { serveWebApp } from './http/web-app.js';
import { type AbuseLimits, RateLimits } from './limits/abuse-limits.js';
import type { Logger } from './logger.js';
import { createMetrics, type Metrics } from './metrics/metrics.js';
import { PublicationRelay } from './outbox/publication-relay.js';
import { blobStoreRemover } from './policies/message-blobs.js';
import { createPolicyMetrics } from './policies/policy-metrics.js';
import { type DataPolicyServices, dataPolicyServices } from './policies/services.js';
import { Router } from './router/router.js';
import { SenderNames } from './router/sender-names.js';
import { ShardBalancer } from './router/shard-balancer.js';
import { SqlAttachments } from './store/attachments-sql.js';
import type { DeadLetterStore } from './store/dead-letter-store.js';
import { SqlDeadLetters } from './store/dead-letters-sql.js';
import { createPgDatabase } from './store/pg-database.js';
import { createPgliteDatabase } from './store/pglite-database.js';
import { openReplicaReads } from './store/replica-reads.js';
import { SqlShardLeases } from './store/shard-leases-sql.js';
import type { SqlDatabase } from './store/sql.js';
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
  /** The database under the store (operators' queries, tests). */
  db: SqlDatabase;
  store: Store;
  /** Messages the router gave up on, on both engines (the admin routes read them). */
  deadLetters: DeadLetterStore;
  bus: Bus;
  metrics: Metrics;
  /** Per-user abuse limits, shared by the router and the HTTP API of this process. */
  limits: AbuseLimits;
  router: Router | undefined;
  /** Which shards this router consumes (RabbitMQ engine with a router). */
  shards: ShardBalancer | undefined;
  webhooks: WebhookWorker | undefined;
  /** Publishes the outbox of publications (group administration's notifications) through the bus. */
  publications: PublicationRelay;
  /** The retention purge (scheduled where the router runs) and the blob remover it shares. */
  policies: DataPolicyServices;
  /**
   * Uploads, files and their blob store (docs/attachments.md). `attachments.removeForMessages(app,
   * messageIds)` removes a deleted or erased message's attachments, rows then blobs.
   */
  attachments: Attachments;
  http: FastifyInstance | undefined;
  /** Where the HTTP API listens, when it runs. */
  httpUrl: string | undefined;
  /** Where the web chat app is served: the HTTP server's root, when the app is built. */
  webAppUrl: string | undefined;
  /** The embedded broker's MQTT endpoints (undefined on RabbitMQ, whose endpoints are its own). */
  mqtt: { tcpUrl: string; wsUrl: string | undefined } | undefined;
  /**
   * Stops in the order that loses nothing: no new HTTP requests, no new inbound messages, the
   * ones in flight finished and acknowledged, webhooks in flight settled, then the connections.
   */
  stop(): Promise<void>;
}

/** PGlite runs in this process: a probe it does not answer within this long counts as unanswered. */
const EMBEDDED_PROBE_TIMEOUT_MS = 5_000;

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
    const db = config.postgres
      ? createPgDatabase(
          config.postgres.url,
          config.postgres.poolSize,
          config.postgres.timeouts,
          log.child({ component: 'postgres' }),
        )
      : await createPgliteDatabase(join(config.dataDir, 'pglite'));
    cleanup.push(() => db.close());
    const store = await openSqlStore(db);
    const jwt = config.jwt;
    const deadLetters = new SqlDeadLetters(db);
    const blobs = openBlobStore(config.attachments.blobStore);
    cleanup.push(() => blobs.close());
    const attachments = new Attachments({
      store: new SqlAttachments(db),
      blobs,
      groups: store,
      settings: config.attachments,
      jwtSecret: config.jwt.secret,
      log: log.child({ component: 'attachments' }),
      now: Date.now,
    });
    const bus = await openBus(config, log, parts, deadLetters);
    cleanup.push(() => bus.close());
    const metrics = createMetrics();
    // Counters in PostgreSQL are shared by every process; the embedded engine is one process.
    const limits = new RateLimits(
      config.limits,
      config.postgres ? { kind: 'postgres', db } : { kind: 'memory' },
      log.child({ component: 'limits' }),
    );
    cleanup.push(() => limits.close());
    // Wherever the router or the HTTP API runs: the relay of a process that crashed is replaced by
    // any other (leases keep two relays from publishing one entry at once).
    const publications = new PublicationRelay({
      queue: store,
      bus,
      settings: config.publications,
      log: log.child({ component: 'publications' }),
      now: Date.now,
    });
    publications.start();
    cleanup.push(() => publications.stop());

    const policies = dataPolicyServices({
      store,
      log,
      settings: config.retention,
      metrics: createPolicyMetrics(metrics.registry),
      // Purged and erased messages' attachment bytes leave the blob store too.
      blobs: blobStoreRemover(blobs),
    });
    cleanup.push(() => policies.purger.stop());

    let router: Router | undefined;
    let shards: ShardBalancer | undefined;
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
      const senderNames = new SenderNames(store, config.senderNames.cacheMs, Date.now);
      router = new Router(
        {
          store,
          settings: config.router,
          messageActions: config.messageActions,
          log,
          now: Date.now,
          newId: randomUUID,
          webhooks: outbox,
          metrics,
          senderNames,
          limits,
          attachments,
        },
        bus,
        // While paused (its store unavailable), the router probes it with this.
        {
          // A standby answers too, but takes no writes (a switchover under way): not back yet.
          probe: async () => {
            const { rows } = await db.query<{ standby: boolean }>('SELECT pg_is_in_recovery() AS standby');
            if (rows[0]?.standby) throw new Error('the database is a standby (read-only)');
          },
          timeoutMs: config.postgres?.timeouts.connectTimeoutMs ?? EMBEDDED_PROBE_TIMEOUT_MS,
        },
      );
      await router.start();
      // Several routers on one RabbitMQ: the sharded families are consumed shard by shard, as
      // the leases shared through the database say (docs/scaling.md).
      if (bus.sharded && config.rabbitmq) {
        // Heartbeats on a connection of their own: behind the router's store work in the pool, a
        // busy router's heartbeat would be late and it would stop its shards for nothing.
        const leaseDb = config.postgres
          ? createPgDatabase(
              config.postgres.url,
              1,
              config.postgres.timeouts,
              log.child({ component: 'shards' }),
            )
          : db;
        if (leaseDb !== db) cleanup.push(() => leaseDb.close());
        const routerId = `${hostname()}-${randomUUID().slice(0, 8)}`;
        const balancer = new ShardBalancer({
          leases: new SqlShardLeases(leaseDb),
          group: config.router.queuePrefix,
          routerId,
          settings: config.rabbitmq.shards,
          consumers: bus.sharded,
          log: log.child({ component: 'shards', router: routerId }),
          now: () => performance.now(),
        });
        await balancer.start();
        cleanup.push(() => balancer.stop());
        shards = balancer;
      }
      // Scheduled where messages are written; several routers share an app's purge (an advisory lock).
      policies.purger.start();
      if (worker) {
        worker.start();
        cleanup.push(() => worker.stop());
      }
      webhooks = worker;
    }

    let http: FastifyInstance | undefined;
    let httpUrl: string | undefined;
    let webAppUrl: string | undefined;
    if (parts.http) {
      // A read replica (MERCURIO_DATABASE_READ_URL) serves the HTTP API's history, search and lists.
      const reads = openReplicaReads(store, config.postgres, metrics.registry, log);
      if (reads) cleanup.push(() => reads.close());
      const apiStore = reads?.store ?? store;
      http = buildHttpApp({
        settings: config.http,
        jwt,
        store: apiStore,
        deadLetters,
        messageActions: config.messageActions,
        // Message changes over HTTP write their webhook events; the router's worker delivers them.
        webhooks: new WebhookOutbox(config.webhooks),
        bus,
        log,
        limits,
        publications,
        policies,
        attachments,
      });
      // Where uploads are received, unsent ones are swept.
      const sweeper = new OrphanSweeper(attachments, log.child({ component: 'attachments' }));
      sweeper.start();
      cleanup.push(() => sweeper.stop());
      bus.inProcess?.attachWebSocket(http.server, '/ws');
      const registry = metrics.registry;
      http.get('/metrics', { config: { public: true } }, async (_request, reply) =>
        reply.type(registry.contentType).send(await registry.metrics()),
      );
      const webApp = serveWebApp(http, { web: config.web, apiBasePath: config.http.basePath });
      httpUrl = await listen(http, config.http.host, config.http.port);
      if (webApp) webAppUrl = `${httpUrl}/`;
      const app = http;
      cleanup.push(() => app.close());
    }

    return {
      db,
      store,
      deadLetters,
      bus,
      metrics,
      limits,
      router,
      shards,
      webhooks,
      publications,
      policies,
      attachments,
      http,
      httpUrl,
      webAppUrl,
      mqtt: bus.inProcess
        ? {
            tcpUrl: `mqtt://${config.mqtt.host}:${bus.inProcess.tcpPort}`,
            wsUrl: httpUrl ? `${httpUrl.replace(/^http/, 'ws')}/ws` : undefined,
          }
        : undefined,
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

/** RabbitMQ when configured, else the embedded broker in this process. */
async function openBus(
  config: Config,
  log: Logger,
  parts: EngineParts,
  deadLetters: DeadLetterStore,
): Promise<Bus> {
  const jwt = config.jwt;
  if (!config.rabbitmq) {
    return EmbeddedBus.start({
      jwt,
      tcp: { port: config.mqtt.port, host: config.mqtt.host },
      retryDelayMs: config.router.retryDelayMs,
      limits: config.mqttClients,
      deadLetters: (letter) => deadLetters.keep(letter),
      log: log.child({ component: 'mqtt' }),
    });
  }
  const service = parts.router ? 'mercurio-router' : 'mercurio-api';
  return RabbitBus.connect({
    urls: config.rabbitmq.urls,
    shards: config.rabbitmq.shards.count,
    queuePrefix: config.router.queuePrefix,
    publishChannels: config.router.publishChannels,
    token: () => signServiceToken(jwt, service, jwt.serviceTokenTtlSeconds),
    tokenRefreshSeconds: Math.max(30, Math.floor(jwt.serviceTokenTtlSeconds / 2)),
    retryDelayMs: config.router.retryDelayMs,
    // Letters wait in <queuePrefix>.dead until a router moves them to the table.
    deadLetters: (letter) => deadLetters.keep(letter),
    log,
  });
}

/** Listens, turning "address in use" into a message that names the setting to change. */
async function listen(app: FastifyInstance, host: string, port: number): Promise<string> {
  try {
    return await app.listen({ host, port });
  } catch (error) {
    if (error && typeof error === 'object' && 'code' in error && error.code === 'EADDRINUSE') {
      throw new Error(
        `cannot listen for HTTP on ${host}:${port}: the address is already in use (set MERCURIO_HTTP_PORT)`,
      );
    }
    throw error;
  }
}
