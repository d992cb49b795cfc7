import { checkAppId } from '@mercurio/protocol';
import { z } from 'zod';
import { ConfigError } from './errors.js';
import type { LogLevel } from './logger.js';

/**
 * Configuration is read once, here, from environment variables; validated; frozen; and passed
 * down. No other module reads process.env.
 */
export interface Config {
  readonly logLevel: LogLevel;
  readonly jwt: {
    readonly secret: string;
    readonly resourceServerId: string;
    readonly serviceTokenTtlSeconds: number;
  };
  readonly rabbitmq: { readonly url: string };
  readonly postgres: { readonly url: string; readonly poolSize: number };
  readonly router: RouterSettings;
}

export interface RouterSettings {
  /** Prefix of the router's durable queue names; routers sharing it share the work. */
  readonly queuePrefix: string;
  /** Serve only this app id; undefined serves every app. */
  readonly app: string | undefined;
  /** Unacknowledged messages a router holds per queue. */
  readonly prefetch: number;
  /** Largest accepted inbound payload, in bytes. */
  readonly maxPayloadBytes: number;
  /** How many direct-conversation peers are told when a user's presence changes. */
  readonly presencePeerLimit: number;
  /** Delay before a message whose processing failed is handed back to the broker. */
  readonly retryDelayMs: number;
}

const int = (min: number, max: number) => z.coerce.number().int().min(min).max(max);

const schema = z.object({
  MERCURIO_LOG_LEVEL: z.enum(['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent']).default('info'),
  MERCURIO_JWT_SECRET: z.string().min(32, 'must be at least 32 characters'),
  MERCURIO_JWT_RESOURCE_SERVER_ID: z.string().min(1).default('rabbitmq'),
  MERCURIO_SERVICE_TOKEN_TTL_SECONDS: int(60, 7 * 24 * 3600).default(3600),
  MERCURIO_AMQP_URL: z.url({ protocol: /^amqps?$/ }).default('amqp://127.0.0.1:5672'),
  MERCURIO_DATABASE_URL: z.url({ protocol: /^postgres(ql)?$/ }).default('postgres://127.0.0.1:5432/mercurio'),
  MERCURIO_DATABASE_POOL_SIZE: int(1, 200).default(10),
  MERCURIO_QUEUE_PREFIX: z
    .string()
    .regex(/^[A-Za-z0-9_-]+$/, 'letters, digits, _ and - only')
    .default('mercurio'),
  MERCURIO_APP_ID: z.string().optional(),
  MERCURIO_PREFETCH: int(1, 10_000).default(64),
  MERCURIO_MAX_PAYLOAD_BYTES: int(256, 16 * 1024 * 1024).default(64 * 1024),
  MERCURIO_PRESENCE_PEER_LIMIT: int(0, 100_000).default(1000),
  MERCURIO_RETRY_DELAY_MS: int(0, 60_000).default(1000),
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
  if (e.MERCURIO_APP_ID !== undefined) {
    const check = checkAppId(e.MERCURIO_APP_ID);
    if (!check.ok) throw new ConfigError(`MERCURIO_APP_ID ${check.reason}`);
  }
  return deepFreeze({
    logLevel: e.MERCURIO_LOG_LEVEL,
    jwt: {
      secret: e.MERCURIO_JWT_SECRET,
      resourceServerId: e.MERCURIO_JWT_RESOURCE_SERVER_ID,
      serviceTokenTtlSeconds: e.MERCURIO_SERVICE_TOKEN_TTL_SECONDS,
    },
    rabbitmq: { url: e.MERCURIO_AMQP_URL },
    postgres: { url: e.MERCURIO_DATABASE_URL, poolSize: e.MERCURIO_DATABASE_POOL_SIZE },
    router: {
      queuePrefix: e.MERCURIO_QUEUE_PREFIX,
      app: e.MERCURIO_APP_ID,
      prefetch: e.MERCURIO_PREFETCH,
      maxPayloadBytes: e.MERCURIO_MAX_PAYLOAD_BYTES,
      presencePeerLimit: e.MERCURIO_PRESENCE_PEER_LIMIT,
      retryDelayMs: e.MERCURIO_RETRY_DELAY_MS,
    },
  });
}

function deepFreeze<T>(value: T): T {
  if (value && typeof value === 'object') {
    for (const inner of Object.values(value)) deepFreeze(inner);
    Object.freeze(value);
  }
  return value;
}
