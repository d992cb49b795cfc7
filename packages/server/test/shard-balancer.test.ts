import { randomUUID } from 'node:crypto';
import { performance } from 'node:perf_hooks';
import pino from 'pino';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ShardBalancer, type ShardSettings } from '../src/router/shard-balancer.js';
import { migrate } from '../src/store/migrate.js';
import { createPgDatabase } from '../src/store/pg-database.js';
import type { ShardLeaseStore } from '../src/store/shard-lease-store.js';
import { SqlShardLeases } from '../src/store/shard-leases-sql.js';
import type { SqlDatabase } from '../src/store/sql.js';
import { until } from './support/sdk.js';
import { services } from './support/services.js';

const SETTINGS: ShardSettings = { count: 12, heartbeatMs: 100, ttlMs: 600 };

/**
 * The shard leases on a real PostgreSQL: routers joining, leaving and going silent, with the
 * one rule that matters checked at every step — no shard is ever consumed by two routers.
 */
describe('shard balancer', () => {
  let db: SqlDatabase;
  let leases: SqlShardLeases;
  const group = `shards-${randomUUID().slice(0, 8)}`;
  /** shard → the router consuming it; a second consumer is a broken promise. */
  const consuming = new Map<number, string>();
  const violations: string[] = [];
  const balancers = new Map<string, ShardBalancer>();

  beforeAll(async () => {
    db = createPgDatabase(services().pgUrl, 4);
    await migrate(db);
    leases = new SqlShardLeases(db);
  });
  afterAll(async () => {
    for (const balancer of balancers.values()) await balancer.stop();
    await db.close();
  });

  function router(id: string, store: ShardLeaseStore = leases, bus = { consuming: true }): ShardBalancer {
    const balancer = new ShardBalancer({
      leases: store,
      group,
      routerId: id,
      settings: SETTINGS,
      log: pino({ level: 'silent' }),
      now: () => performance.now(),
      consumers: {
        get consuming() {
          return bus.consuming;
        },
        async start(shard) {
          const other = consuming.get(shard);
          if (other !== undefined)
            violations.push(`shard ${shard}: ${id} started while ${other} consumed it`);
          consuming.set(shard, id);
        },
        async stop(shard) {
          // Settling what was taken from the shard takes a moment.
          await new Promise((resolve) => setTimeout(resolve, 20));
          if (consuming.get(shard) === id) consuming.delete(shard);
        },
      },
    });
    balancers.set(id, balancer);
    return balancer;
  }

  const counts = () => [...balancers.values()].map((b) => b.held.length);
  const spread = (expected: number[]) => () =>
    JSON.stringify(counts()) === JSON.stringify(expected) && consuming.size === SETTINGS.count;

  it('one router takes every shard; routers joining split them evenly, with no shard consumed twice', async () => {
    await router('r1').start();
    expect(balancers.get('r1')!.held).toHaveLength(12);
    await router('r2').start();
    await until(spread([6, 6]), 'two routers with 6 shards each', 5_000);
    await router('r3').start();
    await until(spread([4, 4, 4]), 'three routers with 4 shards each', 5_000);
    await router('r4').start();
    await until(spread([3, 3, 3, 3]), 'four routers with 3 shards each', 5_000);
    expect(violations).toEqual([]);
  });

  it('a router stopping cleanly hands its shards over at once', async () => {
    const leaving = balancers.get('r4')!;
    balancers.delete('r4');
    const started = performance.now();
    await leaving.stop();
    await until(spread([4, 4, 4]), 'three routers again', 5_000);
    expect(performance.now() - started).toBeLessThan(2_000);
    expect(violations).toEqual([]);
  });

  it('a router that goes silent (its database path cut) stops consuming, and the others take over after the silence limit', async () => {
    let cut = false;
    const failing: ShardLeaseStore = {
      heartbeat: (...args) => (cut ? Promise.reject(new Error('cut')) : leases.heartbeat(...args)),
      claim: (...args) => (cut ? Promise.reject(new Error('cut')) : leases.claim(...args)),
      release: (...args) => (cut ? Promise.reject(new Error('cut')) : leases.release(...args)),
      leave: (...args) => (cut ? Promise.reject(new Error('cut')) : leases.leave(...args)),
    };
    await router('r5', failing).start();
    await until(spread([3, 3, 3, 3]), 'four routers', 5_000);
    cut = true;
    const started = performance.now();
    await until(() => balancers.get('r5')!.held.length === 0, 'the silent router to stop consuming', 5_000);
    const stoppedAfter = performance.now() - started;
    balancers.delete('r5');
    await until(spread([4, 4, 4]), 'the three others with every shard', 5_000);
    const takenOverAfter = performance.now() - started;
    // It stops first (after ttl without a heartbeat), the others take over after ttl of silence.
    expect(stoppedAfter).toBeLessThan(SETTINGS.ttlMs + 4 * SETTINGS.heartbeatMs);
    expect(takenOverAfter).toBeLessThan(SETTINGS.ttlMs + 6 * SETTINGS.heartbeatMs);
    expect(violations).toEqual([]);
  });

  it('a router whose broker connection is lost lets the others take its shards instead of keeping them', async () => {
    const bus = { consuming: true };
    await router('r6', leases, bus).start();
    await until(spread([3, 3, 3, 3]), 'four routers', 5_000);
    bus.consuming = false;
    await until(() => balancers.get('r6')!.held.length === 0, 'the disconnected router to let go', 5_000);
    await until(spread([4, 4, 4, 0]), 'the three others with every shard', 5_000);
    // Connected again, it rejoins and gets its share back.
    bus.consuming = true;
    await until(spread([3, 3, 3, 3]), 'four routers again', 5_000);
    expect(violations).toEqual([]);
  });
});
