/**
 * Which router consumes which shard (RabbitMQ engine, several routers; docs/scaling.md). A group
 * is one set of sharded queues (the routers of one queue prefix). Liveness is judged by the
 * database's clock, so the routers' machines need not agree on the time.
 */
export interface ShardLeaseStore {
  /**
   * Records that `router` is alive and returns the routers of the group heard from within
   * `ttlMs` (itself included), sorted by id.
   */
  heartbeat(group: string, router: string, ttlMs: number): Promise<string[]>;
  /**
   * Takes each of `shards` that is free, already `router`'s, or held by a router silent for
   * `ttlMs`; returns the shards `router` holds of them now. Counts as a heartbeat of `router`.
   */
  claim(group: string, shards: readonly number[], router: string, ttlMs: number): Promise<number[]>;
  /** Frees the shard if `router` holds it. */
  release(group: string, shard: number, router: string): Promise<void>;
  /** A clean stop: frees the router's shards and forgets it. */
  leave(group: string, router: string): Promise<void>;
}
