import { setTimeout as sleep } from 'node:timers/promises';
import type { Gauge } from 'prom-client';
import type { PausableConsumption } from '../bus/bus.js';
import type { Logger } from '../logger.js';

/** The first probe of a paused store after this long; the pause doubles up to the maximum. */
const FIRST_PROBE_MS = 250;
const MAX_PROBE_MS = 4_000;

/**
 * Thrown for a message whose delivery the bus abandoned while the router was paused (RabbitMQ put
 * it back in its queue): there is nothing left to do with it here.
 */
export class HandedBack extends Error {
  constructor() {
    super('handed back: the bus delivers it again');
    this.name = 'HandedBack';
  }
}

export interface StorePauseOptions {
  /** The bus's consumption; without it nothing is paused (messages wait in place). */
  consumption: PausableConsumption | undefined;
  /** Resolves once the store answers (a trivial query). */
  probe: () => Promise<void>;
  /** A probe not answered within this long counts as unanswered (a stalled pooled connection). */
  probeTimeoutMs: number;
  log: Logger;
  /** 1 while paused. */
  gauge: Pick<Gauge, 'set'>;
  /** The router stops: probing ends and waiters are let go. */
  stopping: AbortSignal;
}

/**
 * A router whose store fails stops taking work (docs/architecture.md, "When the store fails").
 * On a failure the store is asked at once: a store that answers had a passing fault (a reset
 * connection), retried in place as before. One that does not answer pauses the router: no store
 * step starts, the ones under way end (each within the store's timeouts), then the bus stops
 * delivering and hands back what it holds (RabbitMQ), the store is probed with a growing pause,
 * and consuming resumes once it answers. One log line at each end, and a gauge.
 */
export class StorePause {
  readonly #options: StorePauseOptions;
  /** Set from the first failure until the store answers again (with or without a pause). */
  #checking: Promise<void> | undefined;
  #paused = false;
  /** Store steps under way, and who waits for there to be none. */
  #running = 0;
  #idle: (() => void) | undefined;

  constructor(options: StorePauseOptions) {
    this.#options = options;
  }

  get paused(): boolean {
    return this.#paused;
  }

  /** Resolves once not paused (at once when not), or the router stops. */
  resumed(): Promise<void> {
    return this.#paused && this.#checking ? this.#checking : Promise.resolve();
  }

  /** Runs one store step, counted: the bus is paused only once none is under way. */
  async step<T>(work: () => Promise<T>): Promise<T> {
    this.#running++;
    try {
      return await work();
    } finally {
      this.#running--;
      if (this.#running === 0) this.#idle?.();
    }
  }

  /** A store step failed because the store is unavailable. */
  failed(error: unknown): void {
    if (this.#checking || this.#options.stopping.aborted) return;
    this.#checking = this.#check(error).finally(() => {
      this.#checking = undefined;
    });
  }

  async #check(error: unknown): Promise<void> {
    const { consumption, log, gauge } = this.#options;
    // Once more when it failed at once: after a reset, the first probe may take another dead
    // connection from the pool (dropped with its failure), and a pause costs every message it
    // hands back a return. A probe left unanswered is not repeated: the store is stalled.
    const first = await this.#answers();
    if (first === 'yes' || (first === 'no' && (await this.#answers()) === 'yes')) return;
    const since = Date.now();
    this.#paused = true;
    gauge.set(1);
    log.warn({ err: error }, 'store unavailable: router paused, its messages handed back until it answers');
    // The steps under way end within the store's timeouts; a message handed back while one of its
    // conversation's is still being stored could overtake it elsewhere.
    await this.#noneRunning();
    await consumption?.pause().catch((pauseError: unknown) => {
      log.warn({ err: pauseError }, 'consumers not paused');
    });
    const answered = await this.#probeUntilAnswer();
    await consumption?.resume().catch((resumeError: unknown) => {
      log.warn({ err: resumeError }, 'consumers not resumed; they resume on reconnect');
    });
    this.#paused = false;
    gauge.set(0);
    if (answered) log.info({ pausedMs: Date.now() - since }, 'store answers again: router resumed');
  }

  #noneRunning(): Promise<void> {
    if (this.#running === 0) return Promise.resolve();
    return new Promise((resolve) => {
      this.#idle = () => {
        this.#idle = undefined;
        resolve();
      };
    });
  }

  /** 'no': the probe failed; 'unanswered': no answer within the probe timeout. */
  async #answers(): Promise<'yes' | 'no' | 'unanswered'> {
    const timeout = new AbortController();
    const unanswered = sleep(this.#options.probeTimeoutMs, 'unanswered' as const, { signal: timeout.signal });
    try {
      const answered = this.#options.probe().then(
        () => 'yes' as const,
        () => 'no' as const,
      );
      return await Promise.race([answered, unanswered]);
    } finally {
      timeout.abort();
      unanswered.catch(() => {});
    }
  }

  /** True once the store answered; false when the router stops first. */
  async #probeUntilAnswer(): Promise<boolean> {
    const { stopping } = this.#options;
    for (let delay = FIRST_PROBE_MS; ; delay = Math.min(delay * 2, MAX_PROBE_MS)) {
      try {
        await sleep(delay, undefined, { signal: stopping });
      } catch {
        return false;
      }
      if ((await this.#answers()) === 'yes') return true;
    }
  }
}
