import { sqlState } from '../store/sql.js';

/**
 * The router's one retry policy (docs/architecture.md, "Retries and dead letters").
 *
 * - A data error can never succeed: the same input fails the same way (PostgreSQL's SQLSTATE
 *   class 22 "data exception" or 54 "program limit exceeded", e.g. stack depth; a RangeError
 *   from our own code, e.g. a serialisation that overflows). It gets `dataErrorAttempts`
 *   attempts in all, a short pause apart, then goes to the dead letters: it must not hold its
 *   conversation's order key or a prefetch slot for long.
 * - Anything else is taken for an infrastructure failure (database or broker unreachable,
 *   a lost connection): retried in place with a growing pause (about 30 s in all), then handed
 *   back to the bus, which redelivers it; never dead-lettered, so that an outage loses nothing.
 */
export type FailureKind = 'data' | 'infrastructure';

export type RetryDecision =
  | { action: 'retry'; delayMs: number }
  | { action: 'handBack' }
  | { action: 'deadLetter'; kind: FailureKind };

export interface RetrySettings {
  /** The pause after a first failure; it doubles at each further one (infrastructure failures). */
  readonly retryDelayMs: number;
  readonly dataErrorAttempts: number;
}

/** Attempts of an infrastructure failure in place before the message goes back to the bus. */
export const IN_PLACE_ATTEMPTS = 6;
const MAX_RETRY_DELAY_MS = 16_000;

/** SQLSTATE classes of a statement that fails the same way whenever it runs with these values. */
const DATA_ERROR_CLASSES = new Set(['22', '54']);

export function failureKind(error: unknown): FailureKind {
  const state = sqlState(error);
  if (state !== undefined && /^[0-9A-Z]{5}$/.test(state) && DATA_ERROR_CLASSES.has(state.slice(0, 2)))
    return 'data';
  if (error instanceof RangeError) return 'data';
  return 'infrastructure';
}

/**
 * What to do after attempt number `attempt` (1-based, in this delivery) failed with `error`;
 * `earlierAttempts` is how many attempts failed in earlier deliveries, as far as the bus knows.
 */
export function decide(
  settings: RetrySettings,
  error: unknown,
  attempt: number,
  earlierAttempts: number,
): RetryDecision {
  const kind = failureKind(error);
  if (kind === 'data') {
    if (attempt + earlierAttempts >= settings.dataErrorAttempts) return { action: 'deadLetter', kind };
    return { action: 'retry', delayMs: settings.retryDelayMs };
  }
  if (attempt >= IN_PLACE_ATTEMPTS) return { action: 'handBack' };
  return {
    action: 'retry',
    delayMs: Math.min(settings.retryDelayMs * 2 ** (attempt - 1), MAX_RETRY_DELAY_MS),
  };
}
