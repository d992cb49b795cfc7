/** What the router reads of blocks: who may not reach whom (a part of RouterStore). */
export interface BlockReads {
  /** True when either user blocks the other. */
  blockedBetween(app: string, a: string, b: string): Promise<boolean>;
  /** Those of `others` who block `user` or whom `user` blocks. */
  blockedAmong(app: string, user: string, others: readonly string[]): Promise<string[]>;
}

/** Blocks between users and muted conversations (docs/data-policies.md, "Blocking and muting"). */
export interface BlockStore extends BlockReads {
  /** Idempotent; true when the block is new. */
  block(app: string, blocker: string, blocked: string, now: number): Promise<boolean>;
  /** True when there was a block to lift. */
  unblock(app: string, blocker: string, blocked: string): Promise<boolean>;
  /** The users `blocker` blocks, oldest first. */
  listBlocks(app: string, blocker: string): Promise<{ user: string; since: number }[]>;
  /** Sets the owner's conversation muted or not; null when the owner has no such conversation. */
  setMuted(
    app: string,
    owner: string,
    conversWith: string,
    muted: boolean,
  ): Promise<{ muted: boolean } | null>;
}
