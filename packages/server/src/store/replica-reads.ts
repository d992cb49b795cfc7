import { Counter, type Registry } from 'prom-client';
import type { Logger } from '../logger.js';
import type { HistoryQuery } from './api-store.js';
import * as history from './history-sql.js';
import { createPgDatabase, type PostgresTimeoutSettings } from './pg-database.js';
import { searchMessages } from './search-sql.js';
import type { SqlDatabase } from './sql.js';
import type { Store } from './store.js';
import { isStoreUnavailable } from './store-unavailable.js';

/** The HTTP API's reads on a streaming replica (MERCURIO_DATABASE_READ_URL). */
export interface ReplicaReadSettings {
  readonly url: string;
  /**
   * The replica answers only while its replay is at most this far behind the primary (the age
   * of the last transaction it replayed while more WAL waits, 0 when it has replayed all it
   * received); older, the read goes to the primary.
   */
  readonly maxLagMs: number;
  /** After the replica failed to answer, reads go to the primary for this long before trying it again. */
  readonly retryMs: number;
}

/** Which server answered a read, for the metrics and the tests. */
export type ReadServer = 'replica' | 'primary';

/**
 * The store the HTTP API reads through: the bulk reads — history pages, search, conversation
 * lists — go to the replica when it is fresh enough for the request, the rest (writes, access
 * checks, everything the router does) to the primary.
 *
 * Read-your-writes: a history request names positions the client knows exist (`after`, `before`,
 * `min_seq`: a seq it has seen, so committed on the primary). Sequence numbers of a conversation
 * are committed in order (conversation_heads is locked per message), and a replica replays
 * commits in order: a replica whose head of the conversation is at least that position holds
 * every message up to it. One whose head is behind does not answer that request; the primary does.
 *
 * Access checks (conversationReader, getGroup, getConversation) stay on the primary: mixed with a
 * replica's older page they can only hide more (a member who left sees up to where they left on
 * the primary), never show a removed member what came after.
 */
export function withReplicaReads(
  store: Store,
  replica: SqlDatabase,
  settings: ReplicaReadSettings,
  log: Logger,
  counted: (server: ReadServer) => void = () => {},
): Store {
  let skipUntil = 0;

  /** The replica's replay lag and, when asked, its head of one conversation. */
  const probe = async (conversation?: { app: string; key: string }) => {
    const { rows } = await replica.query<{ lag_ms: number | string | null; head: number | null }>(
      `SELECT CASE WHEN NOT pg_is_in_recovery() THEN 0
                   WHEN pg_last_wal_receive_lsn() IS NOT NULL
                        AND pg_last_wal_receive_lsn() = pg_last_wal_replay_lsn() THEN 0
                   ELSE extract(epoch FROM clock_timestamp() - pg_last_xact_replay_timestamp()) * 1000
              END AS lag_ms,
              (SELECT last_seq FROM conversation_heads WHERE app_id = $1 AND conversation_key = $2) AS head`,
      [conversation?.app ?? '', conversation?.key ?? ''],
      'replica_probe',
    );
    const row = rows[0];
    // No replay timestamp yet (a standby that has replayed nothing): not known to be fresh.
    const lag =
      row?.lag_ms === null || row?.lag_ms === undefined ? Number.POSITIVE_INFINITY : Number(row.lag_ms);
    return { lagMs: lag, head: row?.head ?? 0 };
  };

  /**
   * Runs `read` on the replica when it is fresh enough (and holds `position` of the
   * conversation), else on the primary. A replica that fails to answer is left alone for a while.
   */
  const read = async <T>(
    onReplica: (db: SqlDatabase) => Promise<T>,
    onPrimary: () => Promise<T>,
    need?: { app: string; key: string; position: number },
  ): Promise<T> => {
    if (Date.now() >= skipUntil) {
      try {
        const { lagMs, head } = await probe(need);
        if (lagMs <= settings.maxLagMs && (need === undefined || head >= need.position)) {
          const result = await onReplica(replica);
          counted('replica');
          return result;
        }
      } catch (error) {
        if (!isStoreUnavailable(error)) throw error;
        skipUntil = Date.now() + settings.retryMs;
        log.warn(
          { err: error, retryMs: settings.retryMs },
          'read replica unavailable: reading from the primary',
        );
      }
    }
    const result = await onPrimary();
    counted('primary');
    return result;
  };

  return {
    ...store,
    listConversations: (app, owner, page) =>
      read(
        (db) => history.listConversations(db, app, owner, page),
        () => store.listConversations(app, owner, page),
      ),
    searchMessages: (app, user, query) =>
      read(
        (db) => searchMessages(db, app, user, query),
        () => store.searchMessages(app, user, query),
      ),
    messageHistory: (app, key, query) =>
      read(
        (db) => history.messageHistory(db, app, key, query),
        () => store.messageHistory(app, key, query),
        { app, key, position: requiredPosition(query) },
      ),
  };
}

/**
 * The HTTP API's store with its reads on the replica (a pool of its own, the primary's size and
 * timeouts), counted in mercurio_db_reads_total{server}; `close` ends the replica's pool.
 * Undefined without a replica configured (or on the embedded engine, which has no PostgreSQL).
 */
export function openReplicaReads(
  store: Store,
  postgres:
    | {
        readonly poolSize: number;
        readonly timeouts: PostgresTimeoutSettings;
        readonly readReplica: ReplicaReadSettings | undefined;
      }
    | undefined,
  registry: Registry,
  log: Logger,
): { store: Store; close(): Promise<void> } | undefined {
  const settings = postgres?.readReplica;
  if (!postgres || !settings) return undefined;
  const replicaLog = log.child({ component: 'replica' });
  const replica = createPgDatabase(settings.url, postgres.poolSize, postgres.timeouts, replicaLog);
  const reads = new Counter({
    name: 'mercurio_db_reads_total',
    help: 'History pages, searches and conversation lists of the HTTP API by the server that answered (replica, primary).',
    labelNames: ['server'],
    registers: [registry],
  });
  return {
    store: withReplicaReads(store, replica, settings, replicaLog, (server) => reads.inc({ server })),
    close: () => replica.close(),
  };
}

/** The newest seq the request says exists: the replica must hold it to answer. */
export function requiredPosition(query: HistoryQuery): number {
  return Math.max(query.after ?? 0, (query.before ?? 1) - 1, query.minSeq ?? 0);
}
