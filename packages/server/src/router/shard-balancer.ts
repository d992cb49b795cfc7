import type { Logger } from '../logger.js';
import type { ShardLeaseStore } from '../store/shard-lease-store.js';

export interface ShardSettings {
  /** Shards of each sharded queue family; fixed for a deployment (changing it moves conversations). */
  readonly count: number;
  /** How often a router says it is alive and rebalances. */
  readonly heartbeatMs: number;
  /** A router silent for this long is taken for dead: its shards go to the others. */
  readonly ttlMs: number;
}

/** What the bus does for the balancer: consume one shard of every sharded family, or stop. */
export interface ShardConsumers {
  /** False while the bus cannot consume (its connection lost, or paused). */
  readonly consuming: boolean;
  start(shard: number): Promise<void>;
  /** Resolves once the messages taken from the shard were settled (acknowledged or handed back). */
  stop(shard: number): Promise<void>;
}

export interface ShardBalancerOptions {
  leases: ShardLeaseStore;
  /** The set of sharded queues the routers share (their queue prefix). */
  group: string;
  routerId: string;
  settings: ShardSettings;
  consumers: ShardConsumers;
  log: Logger;
  /** A monotonic clock in ms. */
  now: () => number;
}

/**
 * Spreads the shards over the live routers, one router per shard (docs/scaling.md): shard s goes
 * to the (s mod n)-th of the n live routers sorted by id, so 12 shards split evenly over 1–4
 * routers. A router gives a shard up only after the messages it took from it were settled, and
 * takes one only when it is free or its holder went silent, so one sender's messages to one
 * conversation are never processed by two routers at once. The queues' single-active-consumer
 * flag is the broker's own guard behind this: should two routers ever consume one shard, only
 * one of them receives.
 */
export class ShardBalancer {
  readonly #options: ShardBalancerOptions;
  readonly #held = new Set<number>();
  /** When the last heartbeat that reached the database was sent (before, to be safe). */
  #lastHeartbeat = Number.NEGATIVE_INFINITY;
  #timer: ReturnType<typeof setInterval> | undefined;
  #tick: Promise<void> = Promise.resolve();
  #rounds = 0;
  /** The live routers, sorted, as the last heartbeat saw them. */
  #members: string[] | undefined;
  #beating: Promise<void> | undefined;
  #fencing = false;

  constructor(options: ShardBalancerOptions) {
    this.#options = options;
  }

  /** The shards this router consumes now. */
  get held(): number[] {
    return [...this.#held].sort((a, b) => a - b);
  }

  async start(): Promise<void> {
    await this.#beat();
    await this.rebalance();
    this.#timer = setInterval(() => {
      // The heartbeat and the silence check run apart from the rounds: a round draining a shard
      // (its messages being settled) or stuck on a slow database must not make this router look
      // dead, nor keep it from noticing that it is.
      void this.#beat();
      if (this.#silent() && this.#held.size > 0 && !this.#fencing) void this.#fence();
      // A round still running is not queued behind.
      if (this.#rounds === 0) void this.rebalance();
    }, this.#options.settings.heartbeatMs);
  }

  /** One round: give up and take shards to match the live routers the last heartbeat saw. */
  rebalance(): Promise<void> {
    this.#rounds++;
    this.#tick = this.#tick
      .then(() => this.#round())
      .catch((error: unknown) => this.#options.log.warn({ err: error }, 'shard round failed'))
      .finally(() => this.#rounds--);
    return this.#tick;
  }

  /**
   * Silent for the limit less two heartbeats: the others take our shards after the full limit of
   * silence as the database sees it, so this router stops first, with a heartbeat to spare between
   * two checks. (A heartbeat is dated from before it was sent, so the database's date of it is
   * never earlier.) Should two routers ever overlap, the queues' single active consumer keeps one.
   */
  #silent(): boolean {
    const { ttlMs, heartbeatMs } = this.#options.settings;
    return this.#options.now() - this.#lastHeartbeat > ttlMs - 2 * heartbeatMs;
  }

  async stop(): Promise<void> {
    clearInterval(this.#timer);
    this.#timer = undefined;
    await this.#tick;
    await this.#beating;
    await this.#stopAll();
    const { leases, group, routerId, log } = this.#options;
    await leases
      .leave(group, routerId)
      .catch((error: unknown) => log.warn({ err: error }, 'could not leave the shard group'));
  }

  /** Says this router is alive and learns which routers are — unless its bus cannot consume. */
  #beat(): Promise<void> {
    if (this.#beating) return this.#beating;
    const { leases, group, routerId, settings, consumers, log, now } = this.#options;
    const beat = async () => {
      // Not consuming (the broker connection lost, the store failing): no heartbeat, so that after
      // the silence limit the others take these shards instead of leaving them waiting.
      if (!consumers.consuming) return;
      const sent = now();
      try {
        this.#members = await leases.heartbeat(group, routerId, settings.ttlMs);
        this.#lastHeartbeat = sent;
      } catch (error) {
        log.warn({ err: error }, 'shard heartbeat failed');
      }
    };
    this.#beating = beat().finally(() => {
      this.#beating = undefined;
    });
    return this.#beating;
  }

  async #round(): Promise<void> {
    const { leases, group, routerId, settings, consumers, log } = this.#options;
    const members = this.#members;
    // No recent view of the live routers, or a bus that cannot consume: take nothing (the silence
    // check stops what is held; a claim would count as a heartbeat).
    if (!members || this.#silent() || !consumers.consuming) return;
    const index = Math.max(0, members.indexOf(routerId));
    const mine = new Set<number>();
    for (let shard = 0; shard < settings.count; shard++) {
      if (shard % members.length === index) mine.add(shard);
    }
    for (const shard of this.held) {
      if (mine.has(shard)) continue;
      await consumers.stop(shard);
      this.#held.delete(shard);
      await leases.release(group, shard, routerId);
      log.info({ routers: members.length, shard }, 'shard handed over');
    }
    // Held shards are claimed again too: one taken over while this router was silent is given up.
    const sent = this.#options.now();
    const claimed = new Set(await leases.claim(group, [...mine], routerId, settings.ttlMs));
    this.#lastHeartbeat = Math.max(this.#lastHeartbeat, sent);
    // A claim answered too late may already have run out: take nothing on its word.
    if (this.#silent()) throw new Error('the shard leases answered too late');
    for (const shard of this.held) {
      if (claimed.has(shard)) continue;
      log.warn({ shard }, 'shard taken over by another router; no longer consuming it');
      await consumers.stop(shard);
      this.#held.delete(shard);
    }
    let changed = false;
    for (const shard of claimed) {
      if (this.#held.has(shard) || this.#silent()) continue;
      await consumers.start(shard);
      this.#held.add(shard);
      changed = true;
    }
    if (changed) log.info({ routers: members.length, shards: this.held }, 'consuming shards');
  }

  async #fence(): Promise<void> {
    this.#fencing = true;
    this.#options.log.error(
      { shards: this.held },
      'no contact with the shard leases; stopped consuming every shard until it is back',
    );
    try {
      await this.#stopAll();
    } finally {
      this.#fencing = false;
    }
  }

  async #stopAll(): Promise<void> {
    for (const shard of this.held) {
      await this.#options.consumers
        .stop(shard)
        .catch((error: unknown) =>
          this.#options.log.warn({ err: error, shard }, 'could not stop consuming a shard'),
        );
      this.#held.delete(shard);
    }
  }
}
