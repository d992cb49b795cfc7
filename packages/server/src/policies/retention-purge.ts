import { setTimeout as sleep } from 'node:timers/promises';
import type { Logger } from '../logger.js';
import type { DataPolicyStore, PurgeCursor } from '../store/data-policy-store.js';
import { type MessageBlobRemover, noMessageBlobs } from './message-blobs.js';
import type { PolicyMetrics } from './policy-metrics.js';

export interface RetentionSettings {
  /** Time between scheduled purge runs; 0: no scheduled purge (`mercurio retention run` still works). */
  readonly intervalMs: number;
  /** Messages looked at per batch: one short transaction each. */
  readonly batchSize: number;
  /** Pause between batches, leaving the database to live traffic. */
  readonly batchPauseMs: number;
  /** Only this app (MERCURIO_APP_ID); undefined: every app with a policy. */
  readonly app: string | undefined;
}

export const DEFAULT_RETENTION_SETTINGS: RetentionSettings = {
  intervalMs: 3_600_000,
  batchSize: 1000,
  batchPauseMs: 20,
  app: undefined,
};

export interface PurgeReport {
  apps: string[];
  batches: number;
  scanned: number;
  deletedMessages: number;
  deletedOutboxRows: number;
  /** Earlier versions, reactions and delete-for-me rows of the purged messages. */
  deletedDependents: number;
  deletedBlobs: number;
  conversationsFixed: number;
  /** Apps another process was purging: left to it. */
  busyApps: string[];
  ms: number;
}

/**
 * The scheduled purge: for each app with a policy, its expired messages in batches, oldest first.
 * Each batch is one short transaction (purge-sql.ts); a batch deletes the messages and what hangs
 * off them in the database, then (after the commit) their attachments' blobs.
 */
export class RetentionPurger {
  readonly #store: Pick<DataPolicyStore, 'appsWithRetention' | 'loosestCutoff' | 'purgeBatch'>;
  readonly #settings: RetentionSettings;
  readonly #log: Logger;
  readonly #now: () => number;
  readonly #blobs: MessageBlobRemover;
  readonly #metrics: PolicyMetrics | undefined;
  #timer: NodeJS.Timeout | undefined;
  #running: Promise<PurgeReport> | undefined;
  #stopped = false;

  constructor(deps: {
    store: Pick<DataPolicyStore, 'appsWithRetention' | 'loosestCutoff' | 'purgeBatch'>;
    settings: RetentionSettings;
    log: Logger;
    now: () => number;
    blobs?: MessageBlobRemover;
    metrics?: PolicyMetrics;
  }) {
    this.#store = deps.store;
    this.#settings = deps.settings;
    this.#log = deps.log;
    this.#now = deps.now;
    this.#blobs = deps.blobs ?? noMessageBlobs;
    this.#metrics = deps.metrics;
  }

  start(): void {
    if (this.#settings.intervalMs <= 0) return;
    this.#schedule();
  }

  /** Stops scheduling and waits for a run under way to end its current batch. */
  async stop(): Promise<void> {
    this.#stopped = true;
    clearTimeout(this.#timer);
    await this.#running?.catch(() => {});
  }

  /** One run over `app` (or every app with a policy), after any run already under way. */
  run(app?: string): Promise<PurgeReport> {
    const previous = this.#running?.catch(() => undefined);
    const running = (async () => {
      await previous;
      return this.#runApps(app);
    })();
    this.#running = running;
    void running
      .finally(() => {
        if (this.#running === running) this.#running = undefined;
      })
      .catch(() => {});
    return running;
  }

  #schedule(): void {
    this.#timer = setTimeout(async () => {
      try {
        const report = await this.run();
        if (report.deletedMessages > 0) this.#log.info(report, 'retention purge');
      } catch (error) {
        this.#log.warn({ err: error }, 'retention purge failed; next run at the next interval');
      }
      if (!this.#stopped) this.#schedule();
    }, this.#settings.intervalMs);
    this.#timer.unref();
  }

  async #runApps(only: string | undefined): Promise<PurgeReport> {
    const started = performance.now();
    const scope = only ?? this.#settings.app;
    const apps = scope ? [scope] : await this.#store.appsWithRetention();
    const report: PurgeReport = {
      apps,
      batches: 0,
      scanned: 0,
      deletedMessages: 0,
      deletedOutboxRows: 0,
      deletedDependents: 0,
      deletedBlobs: 0,
      conversationsFixed: 0,
      busyApps: [],
      ms: 0,
    };
    for (const app of apps) {
      if (this.#stopped) break;
      await this.#purgeApp(app, report);
    }
    report.ms = Math.round(performance.now() - started);
    this.#metrics?.purged.inc({ what: 'messages' }, report.deletedMessages);
    this.#metrics?.purged.inc({ what: 'webhook_events' }, report.deletedOutboxRows);
    this.#metrics?.purged.inc({ what: 'attachments' }, report.deletedBlobs);
    this.#metrics?.lastPurgeSeconds.set(report.ms / 1000);
    return report;
  }

  async #purgeApp(app: string, report: PurgeReport): Promise<void> {
    // One `now` per run: a run's notion of "expired" does not creep forward while it works.
    const now = this.#now();
    const cutoff = await this.#store.loosestCutoff(app, now);
    if (cutoff === undefined) return;
    let cursor: PurgeCursor | undefined;
    for (;;) {
      if (this.#stopped) return;
      const batch = await this.#store.purgeBatch(app, now, cutoff, cursor, this.#settings.batchSize);
      if (batch.busy) {
        report.busyApps.push(app);
        return;
      }
      report.batches += 1;
      report.scanned += batch.scanned;
      report.deletedMessages += batch.deleted.length;
      report.deletedOutboxRows += batch.outboxRows;
      report.deletedDependents += batch.dependents;
      report.conversationsFixed += batch.conversationsFixed;
      if (batch.blobKeys.length > 0) report.deletedBlobs += await this.#blobs(batch.blobKeys);
      cursor = batch.cursor;
      if (batch.scanned < this.#settings.batchSize) return;
      if (this.#settings.batchPauseMs > 0) await sleep(this.#settings.batchPauseMs);
    }
  }
}
