/**
 * The database did not answer in time or lost the connection: an infrastructure failure, not a
 * refusal of the data. The HTTP API answers 503 store_unavailable; the router pauses its
 * consumers (router/store-pause.ts). It carries no SQLSTATE `code` of its own, so that the retry
 * policy never takes it for a data error.
 */
export class StoreUnavailableError extends Error {
  /**
   * The failure may have come after the database received a write (a COMMIT, or a single writing
   * statement, sent and never answered): it may have been applied. Whoever redoes the work must
   * be able to find it done (the router keeps such a message, and its id, in place).
   */
  readonly outcomeUnknown: boolean;

  constructor(message: string, options: { cause: unknown; outcomeUnknown: boolean }) {
    super(message, { cause: options.cause });
    this.name = 'StoreUnavailableError';
    this.outcomeUnknown = options.outcomeUnknown;
  }
}

export function isStoreUnavailable(error: unknown): error is StoreUnavailableError {
  return error instanceof StoreUnavailableError;
}
