import { ERROR_CODES, type ErrorCode } from '@mercurio/protocol';

/**
 * An error caused by what a client sent: it is reported back (error event, HTTP 4xx) and never
 * retried. Anything that is not a MercurioError is an infrastructure failure and is retried.
 */
export class MercurioError extends Error {
  override readonly name = 'MercurioError';
  constructor(
    readonly code: ErrorCode,
    message: string,
    readonly details?: Record<string, unknown>,
  ) {
    super(message);
  }

  get httpStatus(): number {
    return ERROR_CODES[this.code].status;
  }
}

export function isMercurioError(error: unknown): error is MercurioError {
  return error instanceof MercurioError;
}

/** A configuration value is missing or invalid; the message names the setting. */
export class ConfigError extends Error {
  override readonly name = 'ConfigError';
}
