import type { TestStack } from './stack.js';

/** Which router holds which shard of a stack's routers (shard → router id), from the leases table. */
export async function shardLeases(stack: TestStack): Promise<Map<number, string>> {
  const { rows } = await stack.sql.query(
    'SELECT shard, owner FROM router_shard_leases WHERE member_group = $1 AND owner IS NOT NULL',
    [stack.config.router.queuePrefix],
  );
  return new Map((rows as { shard: number; owner: string }[]).map((row) => [row.shard, row.owner]));
}
