/**
 * The little SQL surface the store needs, so the same queries run on node-postgres and PGlite.
 */
export interface SqlRows<T> {
  rows: T[];
}

export interface SqlExecutor {
  /**
   * `name` prepares the statement once per connection (PostgreSQL then skips parsing and
   * planning): for the statements of the hot path. Implementations without it ignore it.
   */
  query<T = Record<string, unknown>>(
    text: string,
    params?: readonly unknown[],
    name?: string,
  ): Promise<SqlRows<T>>;
  /** Runs a script of several statements without parameters (migrations). */
  exec(script: string): Promise<void>;
}

export interface SqlDatabase extends SqlExecutor {
  /** Runs `work` in one transaction: committed when it resolves, rolled back when it throws. */
  transaction<T>(work: (tx: SqlExecutor) => Promise<T>): Promise<T>;
  close(): Promise<void>;
}

/** PostgreSQL's SQLSTATE for a unique-constraint violation. */
export const UNIQUE_VIOLATION = '23505';

export function sqlState(error: unknown): string | undefined {
  if (error && typeof error === 'object' && 'code' in error && typeof error.code === 'string')
    return error.code;
  return undefined;
}
