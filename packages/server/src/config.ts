import { join } from 'node:path';
import { checkAppId } from '@mercurio/protocol';
import { z } from 'zod';
import {
  type AttachmentLimits,
  type AttachmentSettings,
  DEFAULT_ATTACHMENT_TYPES,
} from './attachments/settings.js';
import { ConfigError } from './errors.js';
import type { HttpSettings, WebAppSettings } from './http/settings.js';
import type { AbuseLimitSettings } from './limits/settings.js';
import type { LogLevel } from './logger.js';
import type { MessageActionSettings } from './message-actions/settings.js';
import type { PublicationRelaySettings } from './outbox/publication-relay.js';
import type { RetentionSettings } from './policies/retention-purge.js';
import type { RouterSettings, SenderNameSettings } from './router/settings.js';
import type { ShardSettings } from './router/shard-balancer.js';
import { POSTGRES_TIMEOUT_DEFAULTS, type PostgresTimeoutSettings } from './store/pg-database.js';
import type { ReplicaReadSettings } from './store/replica-reads.js';
import { toEndpoints, WebhookEndpointsSchema, type WebhookSettings } from './webhooks/settings.js';

/**
 * Configuration is read once, here, from environment variables; validated; frozen; and passed
 * down. No other module reads process.env.
 */
export interface Config {
  readonly logLevel: LogLevel;
  readonly jwt: {
    readonly secret: string;
    /**
     * Shorter than 32 characters, allowed only by MERCURIO_JWT_ALLOW_WEAK_SECRET (an existing
     * Chat21 deployment's secret): anyone who guesses it can sign tokens for any user.
     */
    readonly weakSecret: boolean;
    readonly resourceServerId: string;
    readonly serviceTokenTtlSeconds: number;
  };
  /**
   * RabbitMQ (one node's URL, or a cluster's, tried in turn); undefined runs the embedded broker
   * (Aedes) in this process.
   */
  readonly rabbitmq: { readonly urls: readonly string[]; readonly shards: ShardSettings } | undefined;
  /** PostgreSQL; undefined uses PGlite in `dataDir`. */
  readonly postgres:
    | {
        readonly url: string;
        readonly poolSize: number;
        readonly timeouts: PostgresTimeoutSettings;
        /** The HTTP API's bulk reads on a streaming replica (store/replica-reads.ts); undefined: all on `url`. */
        readonly readReplica: ReplicaReadSettings | undefined;
      }
    | undefined;
  /** The embedded engine's data (PGlite database, dev secret). */
  readonly dataDir: string;
  /** The embedded broker's MQTT over TCP listener (MQTT over WebSocket is on the HTTP port, /ws). */
  readonly mqtt: { readonly port: number; readonly host: string };
  /** Development conveniences that are unsafe in production (the dev login route). */
  readonly dev: boolean;
  readonly router: RouterSettings;
  readonly http: HttpSettings;
  readonly web: WebAppSettings;
  /** Undefined when no webhook endpoint is configured. */
  readonly webhooks: WebhookSettings | undefined;
  /** Per-user abuse limits (messages, signals, groups created per window). */
  readonly limits: AbuseLimitSettings;
  readonly senderNames: SenderNameSettings;
  readonly mqttClients: MqttClientLimitSettings;
  /** The outbox of publications (group administration's notifications) and its relay. */
  readonly publications: PublicationRelaySettings;
  /** Editing, deleting and reacting to messages (issue 15). */
  readonly messageActions: MessageActionSettings;
  /** The scheduled retention purge (docs/data-policies.md). */
  readonly retention: RetentionSettings;
  /** Uploads, the blob store, image processing and signed file URLs (docs/attachments.md). */
  readonly attachments: AttachmentSettings;
}

/**
 * What one MQTT client may cost the embedded broker (RabbitMQ's own settings and policies are in
 * docs/operations.md).
 */
export interface MqttClientLimitSettings {
  /** Largest MQTT packet: the router's payload limit plus room for the topic and header. */
  readonly maxPacketBytes: number;
  /** Bytes waiting for a client that does not read before it is disconnected. */
  readonly maxOutgoingBytes: number;
  /** Concurrent connections per user; more are refused at CONNECT. */
  readonly maxConnectionsPerUser: number;
}

/** HS256 secrets shorter than this are refused unless MERCURIO_JWT_ALLOW_WEAK_SECRET is set. */
export const STRONG_SECRET_LENGTH = 32;

/** Where the embedded engine keeps its data unless MERCURIO_DATA_DIR says otherwise. */
export const DEFAULT_DATA_DIR = './data';

/** A read replica that failed to answer is left alone this long (its reads go to the primary). */
const REPLICA_RETRY_MS = 5_000;

const int = (min: number, max: number) => z.coerce.number().int().min(min).max(max);

/** A comma-separated list of web origins, or '*'. */
const originList = z
  .string()
  .transform((value) =>
    value
      .split(',')
      .map((origin) => origin.trim())
      .filter((origin) => origin !== ''),
  )
  .refine(
    (origins) => origins.every((origin) => origin === '*' || /^https?:\/\/[^/?#\s]+$/.test(origin)),
    "must be '*' or a comma-separated list of origins such as https://app.example.com",
  );

const schema = z.object({
  MERCURIO_LOG_LEVEL: z.enum(['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent']).default('info'),
  MERCURIO_JWT_SECRET: z.string().min(1, 'must not be empty'),
  MERCURIO_JWT_ALLOW_WEAK_SECRET: z
    .enum(['true', 'false', '1', '0'], { error: 'must be true or false' })
    .default('false')
    .transform((value) => value === 'true' || value === '1'),
  MERCURIO_JWT_RESOURCE_SERVER_ID: z.string().min(1).default('rabbitmq'),
  MERCURIO_SERVICE_TOKEN_TTL_SECONDS: int(60, 7 * 24 * 3600).default(3600),
  MERCURIO_AMQP_URL: z
    .string()
    .transform((value) => value.split(',').map((url) => url.trim()))
    .pipe(z.array(z.url({ protocol: /^amqps?$/, error: 'must be amqp:// URLs, separated by commas' })).min(1))
    .optional(),
  // Several routers (docs/scaling.md): shards of each order-sensitive queue family, and how
  // routers tell each other they are alive.
  MERCURIO_ROUTER_SHARDS: int(1, 256).default(12),
  MERCURIO_SHARD_HEARTBEAT_MS: int(50, 60_000).default(300),
  MERCURIO_SHARD_TTL_MS: int(200, 600_000).default(2000),
  MERCURIO_DATABASE_URL: z.url({ protocol: /^postgres(ql)?$/ }).optional(),
  MERCURIO_DATA_DIR: z.string().min(1).default(DEFAULT_DATA_DIR),
  MERCURIO_MQTT_PORT: int(0, 65_535).default(1883),
  MERCURIO_MQTT_HOST: z.string().min(1).default('127.0.0.1'),
  MERCURIO_DEV: z
    .enum(['true', 'false', '1', '0'])
    .default('false')
    .transform((value) => value === 'true' || value === '1'),
  MERCURIO_DATABASE_POOL_SIZE: int(1, 200).default(10),
  // PostgreSQL timeouts (store/pg-database.ts): a stalled database is reported, not waited for.
  MERCURIO_DATABASE_CONNECT_TIMEOUT_MS: int(100, 600_000).default(POSTGRES_TIMEOUT_DEFAULTS.connectTimeoutMs),
  MERCURIO_DATABASE_STATEMENT_TIMEOUT_MS: int(100, 3_600_000).default(
    POSTGRES_TIMEOUT_DEFAULTS.statementTimeoutMs,
  ),
  /** Default: the statement timeout plus 2 s. */
  MERCURIO_DATABASE_QUERY_TIMEOUT_MS: int(100, 3_600_000).optional(),
  MERCURIO_DATABASE_IDLE_IN_TRANSACTION_TIMEOUT_MS: int(100, 3_600_000).default(
    POSTGRES_TIMEOUT_DEFAULTS.idleInTransactionTimeoutMs,
  ),
  MERCURIO_DATABASE_KEEPALIVE_MS: int(1000, 3_600_000).default(POSTGRES_TIMEOUT_DEFAULTS.keepAliveMs),
  // A streaming replica for the HTTP API's history, search and conversation lists
  // (store/replica-reads.ts); ignored by the embedded engine.
  MERCURIO_DATABASE_READ_URL: z.url({ protocol: /^postgres(ql)?$/ }).optional(),
  MERCURIO_DATABASE_READ_MAX_LAG_MS: int(0, 3_600_000).default(1000),
  MERCURIO_QUEUE_PREFIX: z
    .string()
    .regex(/^[A-Za-z0-9_-]+$/, 'letters, digits, _ and - only')
    .default('mercurio'),
  MERCURIO_APP_ID: z.string().optional(),
  MERCURIO_PREFETCH: int(1, 10_000).default(64),
  MERCURIO_PUBLISH_CHANNELS: int(1, 64).default(4),
  MERCURIO_MAX_PAYLOAD_BYTES: int(256, 16 * 1024 * 1024).default(64 * 1024),
  MERCURIO_PRESENCE_PEER_LIMIT: int(0, 100_000).default(1000),
  MERCURIO_RETRY_DELAY_MS: int(0, 60_000).default(1000),
  // Poison messages: Chat21 clients nest attributes 2–3 levels; thousands of levels stall the store.
  MERCURIO_MAX_PAYLOAD_DEPTH: int(2, 1000).default(32),
  MERCURIO_DATA_ERROR_ATTEMPTS: int(1, 10).default(2),
  // An id-less message's identity across redeliveries and resends (docs/protocol.md, message_id).
  MERCURIO_RETRANSMIT_WINDOW_MS: int(0, 86_400_000).default(600_000),
  // HTTP API
  MERCURIO_HTTP_PORT: int(0, 65_535).default(8004),
  MERCURIO_HTTP_HOST: z.string().min(1).default('127.0.0.1'),
  MERCURIO_HTTP_BASE_PATH: z
    .string()
    .regex(/^(\/[A-Za-z0-9._~-]+)*$/, "must be '' or start with '/' and not end with '/'")
    .default('/api'),
  MERCURIO_HTTP_QUERY_TOKENS: z
    .enum(['true', 'false', '1', '0'], { error: 'must be true or false' })
    .default('false')
    .transform((value) => value === 'true' || value === '1'),
  MERCURIO_JWT_AUDIENCE: z.string().min(1).optional(),
  MERCURIO_HISTORY_PAGE_MAX: int(1, 10_000).default(200),
  MERCURIO_CONVERSATIONS_PAGE_MAX: int(1, 10_000).default(200),
  MERCURIO_SEARCH_MAX: int(1, 1000).default(100),
  MERCURIO_PRESENCE_MAX: int(1, 10_000).default(500),
  MERCURIO_GROUP_MAX_MEMBERS: int(1, 100_000).default(1000),
  MERCURIO_HTTP_BODY_LIMIT_BYTES: int(1024, 16 * 1024 * 1024).default(256 * 1024),
  MERCURIO_HTTP_CORS_ORIGINS: originList.optional(),
  MERCURIO_USER_TOKEN_TTL_SECONDS: int(60, 366 * 24 * 3600).default(24 * 3600),
  MERCURIO_USER_TOKEN_MAX_TTL_SECONDS: int(60, 366 * 24 * 3600).default(30 * 24 * 3600),
  // Web app: where it connects, who may frame it (src/http/web-app.ts).
  MERCURIO_WEB_API_URL: z.url({ protocol: /^https?$/ }).optional(),
  MERCURIO_WEB_MQTT_URL: z.url({ protocol: /^wss?$/ }).optional(),
  MERCURIO_WEB_FRAME_ANCESTORS: originList.optional(),
  MERCURIO_WEBHOOKS: z.string().optional(),
  MERCURIO_WEBHOOK_SECRET: z.string().min(32, 'must be at least 32 characters').optional(),
  MERCURIO_WEBHOOK_MAX_ATTEMPTS: int(1, 100).default(15),
  MERCURIO_WEBHOOK_RETRY_BASE_MS: int(10, 3_600_000).default(1000),
  MERCURIO_WEBHOOK_RETRY_MAX_MS: int(10, 24 * 3_600_000).default(300_000),
  MERCURIO_WEBHOOK_TIMEOUT_MS: int(100, 120_000).default(10_000),
  MERCURIO_WEBHOOK_POLL_MS: int(10, 60_000).default(500),
  // Abuse limits per (app, user) and fixed window; 0 turns a limit off. Far above a person's pace.
  MERCURIO_RATE_MESSAGES: int(0, 1_000_000).default(300),
  MERCURIO_RATE_MESSAGES_WINDOW_SECONDS: int(1, 86_400).default(60),
  MERCURIO_RATE_SIGNALS: int(0, 1_000_000).default(1200),
  MERCURIO_RATE_SIGNALS_WINDOW_SECONDS: int(1, 86_400).default(60),
  MERCURIO_RATE_GROUPS: int(0, 1_000_000).default(60),
  MERCURIO_RATE_GROUPS_WINDOW_SECONDS: int(1, 86_400).default(3600),
  MERCURIO_RATE_EXEMPT_USERS: z.string().default(''),
  // Trusted sender names: a changed profile name shows on messages after at most this long.
  MERCURIO_SENDER_NAME_CACHE_MS: int(0, 3_600_000).default(5000),
  // Embedded broker: what one MQTT client may cost (a stuck reader, connections per user).
  MERCURIO_MQTT_MAX_OUTGOING_BYTES: int(64 * 1024, 1024 * 1024 * 1024).default(8 * 1024 * 1024),
  MERCURIO_MQTT_MAX_CONNECTIONS_PER_USER: int(1, 100_000).default(32),
  // Publication relay (outbox/publication-relay.ts): woken after each commit; polls for the rest.
  MERCURIO_PUBLICATION_POLL_MS: int(10, 60_000).default(1000),
  MERCURIO_PUBLICATION_TIMEOUT_MS: int(100, 120_000).default(10_000),
  // Changing messages (message-actions/): the edit window (0: none) and the reaction limits.
  MERCURIO_EDIT_WINDOW_SECONDS: int(0, 10 * 365 * 86_400).default(0),
  MERCURIO_REACTIONS_PER_MESSAGE_MAX: int(1, 1000).default(50),
  MERCURIO_REACTIONS_PER_USER_MAX: int(1, 1000).default(10),
  // Retention purge (policies/retention-purge.ts): how often, and how much per short transaction.
  MERCURIO_RETENTION_INTERVAL_MS: int(0, 7 * 86_400_000).default(3_600_000),
  MERCURIO_RETENTION_BATCH_SIZE: int(1, 100_000).default(1000),
  MERCURIO_RETENTION_BATCH_PAUSE_MS: int(0, 60_000).default(20),
  // Attachments (docs/attachments.md): the blob store, limits per app, images, signed URLs, orphans.
  MERCURIO_BLOB_STORE: z.enum(['fs', 's3']).default('fs'),
  MERCURIO_BLOB_DIR: z.string().min(1).optional(),
  MERCURIO_S3_ENDPOINT: z.url({ protocol: /^https?$/ }).optional(),
  MERCURIO_S3_REGION: z.string().min(1).default('us-east-1'),
  MERCURIO_S3_BUCKET: z.string().min(1).optional(),
  MERCURIO_S3_PREFIX: z.string().default(''),
  MERCURIO_S3_ACCESS_KEY_ID: z.string().min(1).optional(),
  MERCURIO_S3_SECRET_ACCESS_KEY: z.string().min(1).optional(),
  MERCURIO_S3_FORCE_PATH_STYLE: z
    .enum(['true', 'false', '1', '0'])
    .default('true')
    .transform((value) => value === 'true' || value === '1'),
  MERCURIO_ATTACHMENT_MAX_BYTES: int(1, 5 * 1024 ** 3).default(25 * 1024 * 1024),
  MERCURIO_ATTACHMENT_TYPES: z.string().optional(),
  MERCURIO_ATTACHMENT_APPS: z.string().optional(),
  MERCURIO_ATTACHMENT_MAX_PIXELS: int(1, 1_000_000_000).default(50_000_000),
  MERCURIO_ATTACHMENT_THUMBNAIL_SIZE: int(16, 2048).default(320),
  MERCURIO_ATTACHMENT_URL_TTL_SECONDS: int(5, 7 * 24 * 3600).default(300),
  MERCURIO_ATTACHMENT_ORPHAN_SECONDS: int(1, 365 * 24 * 3600).default(24 * 3600),
  MERCURIO_ATTACHMENT_SWEEP_SECONDS: int(1, 24 * 3600).default(300),
  MERCURIO_ATTACHMENT_BASE_URL: z.string().min(1).optional(),
  // Test hook only (crash tests): the relay never runs, committed notifications stay in the outbox.
  MERCURIO_TEST_HOLD_PUBLICATIONS: z
    .enum(['true', 'false', '1', '0'])
    .default('false')
    .transform((value) => value === 'true' || value === '1'),
});

export type Environment = Readonly<Record<string, string | undefined>>;

export function loadConfig(env: Environment): Config {
  const parsed = schema.safeParse(env);
  if (!parsed.success) {
    const issue = parsed.error.issues[0]!;
    const setting = String(issue.path[0] ?? 'configuration');
    const message =
      env[setting] === undefined && issue.code === 'invalid_type' ? 'is required' : issue.message;
    throw new ConfigError(`${setting} ${message}`);
  }
  const e = parsed.data;
  const weakSecret = e.MERCURIO_JWT_SECRET.length < STRONG_SECRET_LENGTH;
  if (weakSecret && !e.MERCURIO_JWT_ALLOW_WEAK_SECRET) {
    throw new ConfigError(
      `MERCURIO_JWT_SECRET must be at least ${STRONG_SECRET_LENGTH} characters (it has ` +
        `${e.MERCURIO_JWT_SECRET.length}); to keep an existing shorter secret and the tokens signed ` +
        'with it (a Chat21 or Tiledesk deployment), set MERCURIO_JWT_ALLOW_WEAK_SECRET=true',
    );
  }
  if (e.MERCURIO_USER_TOKEN_TTL_SECONDS > e.MERCURIO_USER_TOKEN_MAX_TTL_SECONDS) {
    throw new ConfigError(
      'MERCURIO_USER_TOKEN_TTL_SECONDS must not exceed MERCURIO_USER_TOKEN_MAX_TTL_SECONDS',
    );
  }
  if (e.MERCURIO_SHARD_HEARTBEAT_MS * 4 > e.MERCURIO_SHARD_TTL_MS) {
    // A router stops consuming two heartbeats before the limit: several must fit in it.
    throw new ConfigError('MERCURIO_SHARD_TTL_MS must be at least 4 × MERCURIO_SHARD_HEARTBEAT_MS');
  }
  if (e.MERCURIO_APP_ID !== undefined) {
    const check = checkAppId(e.MERCURIO_APP_ID);
    if (!check.ok) throw new ConfigError(`MERCURIO_APP_ID ${check.reason}`);
  }
  return deepFreeze({
    logLevel: e.MERCURIO_LOG_LEVEL,
    jwt: {
      secret: e.MERCURIO_JWT_SECRET,
      weakSecret,
      resourceServerId: e.MERCURIO_JWT_RESOURCE_SERVER_ID,
      serviceTokenTtlSeconds: e.MERCURIO_SERVICE_TOKEN_TTL_SECONDS,
    },
    rabbitmq:
      e.MERCURIO_AMQP_URL === undefined
        ? undefined
        : {
            urls: e.MERCURIO_AMQP_URL,
            shards: {
              count: e.MERCURIO_ROUTER_SHARDS,
              heartbeatMs: e.MERCURIO_SHARD_HEARTBEAT_MS,
              ttlMs: e.MERCURIO_SHARD_TTL_MS,
            },
          },
    postgres:
      e.MERCURIO_DATABASE_URL === undefined
        ? undefined
        : {
            url: e.MERCURIO_DATABASE_URL,
            poolSize: e.MERCURIO_DATABASE_POOL_SIZE,
            timeouts: postgresTimeouts(e),
            readReplica:
              e.MERCURIO_DATABASE_READ_URL === undefined
                ? undefined
                : {
                    url: e.MERCURIO_DATABASE_READ_URL,
                    maxLagMs: e.MERCURIO_DATABASE_READ_MAX_LAG_MS,
                    retryMs: REPLICA_RETRY_MS,
                  },
          },
    dataDir: e.MERCURIO_DATA_DIR,
    mqtt: { port: e.MERCURIO_MQTT_PORT, host: e.MERCURIO_MQTT_HOST },
    dev: e.MERCURIO_DEV,
    router: {
      queuePrefix: e.MERCURIO_QUEUE_PREFIX,
      app: e.MERCURIO_APP_ID,
      prefetch: e.MERCURIO_PREFETCH,
      publishChannels: e.MERCURIO_PUBLISH_CHANNELS,
      maxPayloadBytes: e.MERCURIO_MAX_PAYLOAD_BYTES,
      presencePeerLimit: e.MERCURIO_PRESENCE_PEER_LIMIT,
      retryDelayMs: e.MERCURIO_RETRY_DELAY_MS,
      maxPayloadDepth: e.MERCURIO_MAX_PAYLOAD_DEPTH,
      dataErrorAttempts: e.MERCURIO_DATA_ERROR_ATTEMPTS,
      retransmitWindowMs: e.MERCURIO_RETRANSMIT_WINDOW_MS,
    },
    http: {
      port: e.MERCURIO_HTTP_PORT,
      host: e.MERCURIO_HTTP_HOST,
      basePath: e.MERCURIO_HTTP_BASE_PATH,
      queryTokens: e.MERCURIO_HTTP_QUERY_TOKENS,
      audience: e.MERCURIO_JWT_AUDIENCE ?? e.MERCURIO_JWT_RESOURCE_SERVER_ID,
      historyPageMax: e.MERCURIO_HISTORY_PAGE_MAX,
      conversationsPageMax: e.MERCURIO_CONVERSATIONS_PAGE_MAX,
      searchMax: e.MERCURIO_SEARCH_MAX,
      presenceMax: e.MERCURIO_PRESENCE_MAX,
      groupMaxMembers: e.MERCURIO_GROUP_MAX_MEMBERS,
      bodyLimitBytes: e.MERCURIO_HTTP_BODY_LIMIT_BYTES,
      maxMessageBytes: e.MERCURIO_MAX_PAYLOAD_BYTES,
      maxJsonDepth: e.MERCURIO_MAX_PAYLOAD_DEPTH,
      userTokenTtlSeconds: e.MERCURIO_USER_TOKEN_TTL_SECONDS,
      userTokenMaxTtlSeconds: e.MERCURIO_USER_TOKEN_MAX_TTL_SECONDS,
      devLogin: e.MERCURIO_DEV,
      // Dev mode: any page may call the API (an app under development on another port).
      corsOrigins: corsOrigins(e.MERCURIO_HTTP_CORS_ORIGINS, e.MERCURIO_DEV),
    },
    webhooks: webhookSettings(e),
    web: {
      apiUrl: e.MERCURIO_WEB_API_URL,
      mqttUrl: e.MERCURIO_WEB_MQTT_URL,
      // The widget's host pages are the host applications that call the API: the CORS origins.
      frameAncestors: corsOrigins(
        e.MERCURIO_WEB_FRAME_ANCESTORS ?? e.MERCURIO_HTTP_CORS_ORIGINS,
        e.MERCURIO_DEV,
      ),
    },
    limits: {
      messages: { points: e.MERCURIO_RATE_MESSAGES, windowSeconds: e.MERCURIO_RATE_MESSAGES_WINDOW_SECONDS },
      signals: { points: e.MERCURIO_RATE_SIGNALS, windowSeconds: e.MERCURIO_RATE_SIGNALS_WINDOW_SECONDS },
      groups: { points: e.MERCURIO_RATE_GROUPS, windowSeconds: e.MERCURIO_RATE_GROUPS_WINDOW_SECONDS },
      exemptUsers: e.MERCURIO_RATE_EXEMPT_USERS.split(',')
        .map((user) => user.trim())
        .filter((user) => user !== ''),
    },
    senderNames: { cacheMs: e.MERCURIO_SENDER_NAME_CACHE_MS },
    mqttClients: {
      // A topic takes up to 65,535 bytes (its 2-byte length); the fixed header up to 5.
      maxPacketBytes: e.MERCURIO_MAX_PAYLOAD_BYTES + 65_535 + 2 + 5 + 2,
      maxOutgoingBytes: e.MERCURIO_MQTT_MAX_OUTGOING_BYTES,
      maxConnectionsPerUser: e.MERCURIO_MQTT_MAX_CONNECTIONS_PER_USER,
    },
    publications: {
      pollMs: e.MERCURIO_PUBLICATION_POLL_MS,
      publishTimeoutMs: e.MERCURIO_PUBLICATION_TIMEOUT_MS,
      retryBaseMs: 200,
      retryMaxMs: 30_000,
      app: e.MERCURIO_APP_ID,
      holdForTests: e.MERCURIO_TEST_HOLD_PUBLICATIONS,
    },
    messageActions: {
      editWindowSeconds: e.MERCURIO_EDIT_WINDOW_SECONDS,
      reactionsPerMessageMax: e.MERCURIO_REACTIONS_PER_MESSAGE_MAX,
      reactionsPerUserMax: e.MERCURIO_REACTIONS_PER_USER_MAX,
      maxMessageBytes: e.MERCURIO_MAX_PAYLOAD_BYTES,
    },
    retention: {
      intervalMs: e.MERCURIO_RETENTION_INTERVAL_MS,
      batchSize: e.MERCURIO_RETENTION_BATCH_SIZE,
      batchPauseMs: e.MERCURIO_RETENTION_BATCH_PAUSE_MS,
      app: e.MERCURIO_APP_ID,
    },
    attachments: attachmentSettings(e),
  });
}

/** A comma-separated list of MIME types (`type/subtype`). */
function typeList(setting: string, value: string): string[] {
  const types = value
    .split(',')
    .map((type) => type.trim().toLowerCase())
    .filter((type) => type !== '');
  const bad = types.find((type) => !/^[a-z0-9.+-]+\/[a-z0-9.+-]+$/.test(type));
  if (bad !== undefined) throw new ConfigError(`${setting} has an invalid MIME type: ${bad}`);
  return types;
}

const AppLimitsSchema = z.record(
  z.string(),
  z.strictObject({
    max_bytes: z
      .number()
      .int()
      .min(1)
      .max(5 * 1024 ** 3)
      .optional(),
    types: z.array(z.string()).optional(),
  }),
);

/** MERCURIO_ATTACHMENT_APPS: `{"<app>": {"max_bytes"?, "types"?}}`, each app's own limits. */
function perAppLimits(
  value: string | undefined,
  defaults: AttachmentLimits,
): Record<string, AttachmentLimits> {
  const perApp: Record<string, AttachmentLimits> = {};
  if (value === undefined || value.trim() === '') return perApp;
  let json: unknown;
  try {
    json = JSON.parse(value);
  } catch {
    throw new ConfigError(
      'MERCURIO_ATTACHMENT_APPS must be a JSON object {"<app>": {"max_bytes"?, "types"?}}',
    );
  }
  const parsed = AppLimitsSchema.safeParse(json);
  if (!parsed.success) {
    const issue = parsed.error.issues[0]!;
    throw new ConfigError(`MERCURIO_ATTACHMENT_APPS ${issue.path.join('.')}: ${issue.message}`);
  }
  for (const [app, limits] of Object.entries(parsed.data)) {
    perApp[app] = {
      maxBytes: limits.max_bytes ?? defaults.maxBytes,
      types: limits.types
        ? typeList(`MERCURIO_ATTACHMENT_APPS.${app}.types`, limits.types.join(','))
        : defaults.types,
    };
  }
  return perApp;
}

function attachmentSettings(e: z.infer<typeof schema>): AttachmentSettings {
  const defaults: AttachmentLimits = {
    maxBytes: e.MERCURIO_ATTACHMENT_MAX_BYTES,
    types:
      e.MERCURIO_ATTACHMENT_TYPES === undefined
        ? DEFAULT_ATTACHMENT_TYPES
        : typeList('MERCURIO_ATTACHMENT_TYPES', e.MERCURIO_ATTACHMENT_TYPES),
  };
  if (e.MERCURIO_BLOB_STORE === 's3' && e.MERCURIO_S3_BUCKET === undefined) {
    throw new ConfigError('MERCURIO_S3_BUCKET is required when MERCURIO_BLOB_STORE=s3');
  }
  const dataDir = e.MERCURIO_DATA_DIR;
  return {
    blobStore:
      e.MERCURIO_BLOB_STORE === 's3'
        ? {
            kind: 's3',
            endpoint: e.MERCURIO_S3_ENDPOINT,
            region: e.MERCURIO_S3_REGION,
            bucket: e.MERCURIO_S3_BUCKET!,
            prefix: e.MERCURIO_S3_PREFIX,
            accessKeyId: e.MERCURIO_S3_ACCESS_KEY_ID,
            secretAccessKey: e.MERCURIO_S3_SECRET_ACCESS_KEY,
            forcePathStyle: e.MERCURIO_S3_FORCE_PATH_STYLE,
          }
        : { kind: 'fs', root: e.MERCURIO_BLOB_DIR ?? join(dataDir, 'blobs') },
    defaults,
    perApp: perAppLimits(e.MERCURIO_ATTACHMENT_APPS, defaults),
    maxPixels: e.MERCURIO_ATTACHMENT_MAX_PIXELS,
    thumbnailSize: e.MERCURIO_ATTACHMENT_THUMBNAIL_SIZE,
    urlTtlSeconds: e.MERCURIO_ATTACHMENT_URL_TTL_SECONDS,
    orphanSeconds: e.MERCURIO_ATTACHMENT_ORPHAN_SECONDS,
    sweepSeconds: e.MERCURIO_ATTACHMENT_SWEEP_SECONDS,
    stagingDir: join(dataDir, 'uploads'),
    publicBaseUrl: (e.MERCURIO_ATTACHMENT_BASE_URL ?? e.MERCURIO_HTTP_BASE_PATH).replace(/\/+$/, ''),
  };
}

/**
 * The client-side query timeout stays above the statement timeout: a slow statement is
 * PostgreSQL's to cancel (the connection stays usable); only a silent connection is cut here.
 */
function postgresTimeouts(e: z.infer<typeof schema>): PostgresTimeoutSettings {
  const statementTimeoutMs = e.MERCURIO_DATABASE_STATEMENT_TIMEOUT_MS;
  const queryTimeoutMs = e.MERCURIO_DATABASE_QUERY_TIMEOUT_MS ?? statementTimeoutMs + 2_000;
  if (queryTimeoutMs <= statementTimeoutMs) {
    throw new ConfigError(
      'MERCURIO_DATABASE_QUERY_TIMEOUT_MS must be above MERCURIO_DATABASE_STATEMENT_TIMEOUT_MS',
    );
  }
  return {
    connectTimeoutMs: e.MERCURIO_DATABASE_CONNECT_TIMEOUT_MS,
    statementTimeoutMs,
    queryTimeoutMs,
    idleInTransactionTimeoutMs: e.MERCURIO_DATABASE_IDLE_IN_TRANSACTION_TIMEOUT_MS,
    keepAliveMs: e.MERCURIO_DATABASE_KEEPALIVE_MS,
  };
}

function webhookSettings(e: z.infer<typeof schema>): WebhookSettings | undefined {
  if (e.MERCURIO_WEBHOOKS === undefined || e.MERCURIO_WEBHOOKS.trim() === '') return undefined;
  let json: unknown;
  try {
    json = JSON.parse(e.MERCURIO_WEBHOOKS);
  } catch {
    throw new ConfigError('MERCURIO_WEBHOOKS must be a JSON array of {"url", "events"?, "apps"?}');
  }
  const parsed = WebhookEndpointsSchema.safeParse(json);
  if (!parsed.success) {
    const issue = parsed.error.issues[0]!;
    throw new ConfigError(`MERCURIO_WEBHOOKS ${issue.path.join('.')}: ${issue.message}`.replace(' :', ':'));
  }
  if (parsed.data.length === 0) return undefined;
  if (!e.MERCURIO_WEBHOOK_SECRET) {
    throw new ConfigError(
      'MERCURIO_WEBHOOK_SECRET is required when MERCURIO_WEBHOOKS is set (it signs every request)',
    );
  }
  return {
    endpoints: toEndpoints(parsed.data),
    secret: e.MERCURIO_WEBHOOK_SECRET,
    maxAttempts: e.MERCURIO_WEBHOOK_MAX_ATTEMPTS,
    retryBaseMs: e.MERCURIO_WEBHOOK_RETRY_BASE_MS,
    retryMaxMs: e.MERCURIO_WEBHOOK_RETRY_MAX_MS,
    timeoutMs: e.MERCURIO_WEBHOOK_TIMEOUT_MS,
    pollMs: e.MERCURIO_WEBHOOK_POLL_MS,
  };
}

function deepFreeze<T>(value: T): T {
  if (value && typeof value === 'object') {
    for (const inner of Object.values(value)) deepFreeze(inner);
    Object.freeze(value);
  }
  return value;
}

function corsOrigins(configured: string[] | undefined, dev: boolean): readonly string[] | '*' {
  if (configured === undefined) return dev ? '*' : [];
  return configured.includes('*') ? '*' : configured;
}
