import { SYSTEM_SENDER } from '@mercurio/protocol';
import {
  type RateLimiterAbstract,
  RateLimiterMemory,
  RateLimiterPostgres,
  RateLimiterRes,
} from 'rate-limiter-flexible';
import { MercurioError } from '../errors.js';
import type { Logger } from '../logger.js';
import type { SqlDatabase } from '../store/sql.js';
import type { AbuseLimitSettings, Budget } from './settings.js';

/**
 * What is counted. `httpMessage` has the messages budget but a counter of its own: the HTTP API
 * answers 429 before publishing, and the router then counts the same message again in `message`
 * (it cannot tell where a message came from), so HTTP sends alone never meet the router's limit
 * while HTTP and MQTT together still cannot exceed it.
 */
export type LimitedAction = 'message' | 'httpMessage' | 'signal' | 'group';

/** Per-user abuse limits, shared by every process of a deployment where the counters are. */
export interface AbuseLimits {
  /**
   * Counts one `action` of `user` in `app`. Throws MercurioError `rate_limited` (details:
   * `retry_after_ms`) when the user's budget for it is spent; `system` and exempt users are never
   * counted. Never throws anything else: when the shared counters cannot be reached the process
   * counts alone (see RateLimits).
   */
  take(action: LimitedAction, app: string, user: string): Promise<void>;
  close(): Promise<void>;
}

/** Where the counters live: this process's memory (one process, embedded) or PostgreSQL. */
export type LimitStore = { kind: 'memory' } | { kind: 'postgres'; db: SqlDatabase };

/** The table of migration 005 (rate-limiter-flexible's schema: key, points, expire in ms). */
const TABLE = 'rate_limits';
/** Expired rows are dead weight (an upsert resets them anyway): swept this often. */
const SWEEP_INTERVAL_MS = 5 * 60_000;
/** While the database is unreachable, say so at most this often. */
const OUTAGE_LOG_INTERVAL_MS = 30_000;

const TOO_MANY: Record<LimitedAction, string> = {
  message: 'too many messages',
  httpMessage: 'too many messages',
  signal: 'too many receipts, typing or presence events',
  group: 'too many groups created',
};

/**
 * AbuseLimits on rate-limiter-flexible: fixed windows per (action, app, user). On PostgreSQL
 * one upsert per counted action (routers on several hosts share the budget); a user over the
 * limit is then refused from this process's memory until the window ends, without a query.
 *
 * When the database fails, the limits fail over to this process's memory (the same limits, per
 * process) with a warning: a database outage neither stops messaging nor lets a flooder loose,
 * and no message is lost because of the limiter (the store step will retry or refuse as usual).
 */
export class RateLimits implements AbuseLimits {
  readonly #settings: AbuseLimitSettings;
  readonly #log: Logger;
  readonly #now: () => number;
  readonly #exempt: ReadonlySet<string>;
  readonly #counters = new Map<LimitedAction, { shared: RateLimiterAbstract; local: RateLimiterAbstract }>();
  readonly #sweeper: NodeJS.Timeout | undefined;
  #lastOutageLog = Number.NEGATIVE_INFINITY;

  constructor(settings: AbuseLimitSettings, store: LimitStore, log: Logger, now: () => number = Date.now) {
    this.#settings = settings;
    this.#log = log;
    this.#now = now;
    this.#exempt = new Set([SYSTEM_SENDER, ...settings.exemptUsers]);
    for (const action of ['message', 'httpMessage', 'signal', 'group'] as const) {
      const budget = this.#budget(action);
      if (budget.points === 0) continue;
      const options = { keyPrefix: action, points: budget.points, duration: budget.windowSeconds };
      const local = new RateLimiterMemory(options);
      const shared =
        store.kind === 'memory'
          ? local
          : new RateLimiterPostgres({
              ...options,
              storeClient: sqlClient(store.db),
              storeType: 'pool',
              tableName: TABLE,
              tableCreated: true,
              clearExpiredByTimeout: false,
              inMemoryBlockOnConsumed: budget.points + 1,
            });
      this.#counters.set(action, { shared, local });
    }
    if (store.kind === 'postgres' && this.#counters.size > 0) {
      const db = store.db;
      this.#sweeper = setInterval(() => {
        db.query(`DELETE FROM ${TABLE} WHERE expire < $1`, [this.#now()]).catch(() => {});
      }, SWEEP_INTERVAL_MS);
      this.#sweeper.unref();
    }
  }

  async take(action: LimitedAction, app: string, user: string): Promise<void> {
    const counter = this.#counters.get(action);
    if (!counter || this.#exempt.has(user)) return;
    const key = `${app}/${user}`;
    try {
      await this.#consume(counter, key);
    } catch (outcome) {
      if (!(outcome instanceof RateLimiterRes)) throw outcome;
      const budget = this.#budget(action);
      const retryAfterMs = Math.max(1, Math.ceil(outcome.msBeforeNext));
      throw new MercurioError(
        'rate_limited',
        `${TOO_MANY[action]}: at most ${budget.points} per ${budget.windowSeconds} s; retry in ${Math.ceil(retryAfterMs / 1000)} s`,
        { retry_after_ms: retryAfterMs },
      );
    }
  }

  async #consume(counter: { shared: RateLimiterAbstract; local: RateLimiterAbstract }, key: string) {
    try {
      await counter.shared.consume(key);
    } catch (outcome) {
      if (outcome instanceof RateLimiterRes || counter.shared === counter.local) throw outcome;
      this.#logOutage(outcome);
      await counter.local.consume(key);
    }
  }

  #logOutage(error: unknown): void {
    const now = this.#now();
    if (now - this.#lastOutageLog < OUTAGE_LOG_INTERVAL_MS) return;
    this.#lastOutageLog = now;
    this.#log.warn(
      { err: error },
      'rate limits: the database is unreachable; counting in this process only until it is back',
    );
  }

  #budget(action: LimitedAction): Budget {
    const s = this.#settings;
    return action === 'signal' ? s.signals : action === 'group' ? s.groups : s.messages;
  }

  async close(): Promise<void> {
    clearInterval(this.#sweeper);
  }
}

/** The node-postgres-shaped client rate-limiter-flexible calls, over the store's own SqlDatabase. */
function sqlClient(db: SqlDatabase) {
  return {
    async query(query: { text: string; values?: unknown[]; name?: string }) {
      const { rows } = await db.query(query.text, query.values, query.name);
      return { rows, rowCount: rows.length };
    },
  };
}
