import { ERROR_CODES, type ErrorCode } from '@mercurio/protocol';
import type { FastifyError, FastifyReply, FastifyRequest } from 'fastify';
import { hasZodFastifySchemaValidationErrors } from 'fastify-type-provider-zod';
import { isMercurioError, MercurioError } from '../errors.js';
import type { Logger } from '../logger.js';
import { isStoreUnavailable } from '../store/store-unavailable.js';
import type { Flavour } from './context.js';

/** Every error response carries its code here, whatever the body's shape. */
export const ERROR_CODE_HEADER = 'x-mercurio-error';

/**
 * Chat21's routes answer with Chat21's statuses where Chat21 fixed them: a missing or bad token
 * is 403 (not 401), a resource of another user or app is 401 (not 403), a body missing a
 * mandatory field is 405 with a plain-text message. Everything else: the catalogue's status.
 */
export const CHAT21_STATUS: Partial<Record<ErrorCode, number>> = {
  unauthorized: 403,
  token_expired: 403,
  forbidden: 401,
};
/** What a client is told to wait before retrying while the database is unavailable. */
const STORE_RETRY_AFTER_MS = 5_000;

/** Chat21's status for an invalid request body (plain text, e.g. `Sender Fullname is mandatory`). */
export const CHAT21_BODY_VALIDATION_STATUS = 405;

export interface ErrorResponse {
  status: number;
  body: unknown;
  contentType: 'application/json' | 'text/plain';
}

interface Refusal {
  error: MercurioError;
  /** Which part of the request failed validation, if that is what happened. */
  validation?: string | undefined;
}

/**
 * The one place errors become HTTP responses. Mercurio routes:
 * `{success: false, err: {code, message}}` with the catalogue's status. Chat21 routes:
 * `{success: false, msg: "Unauthorized."}` for token problems, plain text for invalid bodies,
 * otherwise `{success: false, err: "<message>", code}` (Chat21's `err`, a string, plus the code).
 */
export function errorResponse(refusal: Refusal, flavour: Flavour): ErrorResponse {
  const { error } = refusal;
  if (flavour === 'mercurio') {
    return {
      status: error.httpStatus,
      body: { success: false, err: { code: error.code, message: error.message, ...error.details } },
      contentType: 'application/json',
    };
  }
  if (error.code === 'unauthorized' || error.code === 'token_expired') {
    return {
      status: CHAT21_STATUS[error.code]!,
      body: { success: false, msg: 'Unauthorized.' },
      contentType: 'application/json',
    };
  }
  if (error.code === 'invalid_request' && refusal.validation === 'body') {
    return { status: CHAT21_BODY_VALIDATION_STATUS, body: error.message, contentType: 'text/plain' };
  }
  return {
    status: CHAT21_STATUS[error.code] ?? error.httpStatus,
    body: { success: false, err: error.message, code: error.code },
    contentType: 'application/json',
  };
}

/** Any thrown value as a MercurioError: fastify's own errors mapped to codes, the rest internal. */
export function refusalOf(error: unknown, log: Logger): Refusal {
  if (isMercurioError(error)) return { error };
  const fastifyError = error as Partial<FastifyError> & { validationContext?: string };
  if (hasZodFastifySchemaValidationErrors(error)) {
    const issue = error.validation[0]!;
    const where = fastifyError.validationContext ?? 'request';
    const path = issue.instancePath === '/' ? '' : issue.instancePath.slice(1).replaceAll('/', '.');
    // Chat21 routes show the first issue's message as is (their messages are Chat21's texts).
    const detail = { issues: error.validation.map((i) => ({ path: i.instancePath, message: i.message })) };
    if (where === 'body') {
      return {
        error: new MercurioError('invalid_request', issue.message ?? 'invalid body', {
          where,
          path,
          ...detail,
        }),
        validation: where,
      };
    }
    return {
      error: new MercurioError(
        'invalid_request',
        `${where}${path ? `.${path}` : ''}: ${issue.message ?? 'invalid'}`,
        detail,
      ),
      validation: where,
    };
  }
  switch (fastifyError.code) {
    case 'FST_ERR_CTP_INVALID_MEDIA_TYPE':
      return { error: new MercurioError('unsupported_media_type', 'the body must be application/json') };
    case 'FST_ERR_CTP_BODY_TOO_LARGE':
      return { error: new MercurioError('payload_too_large', 'the request body is too large') };
  }
  if (isStoreUnavailable(error)) {
    log.warn({ err: error }, 'HTTP request failed: the database is unavailable');
    return {
      error: new MercurioError('store_unavailable', 'the database is unavailable; retry shortly', {
        retry_after_ms: STORE_RETRY_AFTER_MS,
      }),
    };
  }
  const status = fastifyError.statusCode;
  if (typeof status === 'number' && status >= 400 && status < 500) {
    const code: ErrorCode =
      status === 404 ? 'not_found' : status === 413 ? 'payload_too_large' : 'invalid_request';
    return { error: new MercurioError(code, fastifyError.message ?? 'bad request') };
  }
  log.error({ err: error }, 'HTTP request failed');
  return { error: new MercurioError('internal_error', 'internal error; the request may be retried') };
}

export function sendError(request: FastifyRequest, reply: FastifyReply, error: unknown, log: Logger) {
  const refusal = refusalOf(error, log);
  const flavour = request.routeOptions.config?.flavour ?? 'mercurio';
  const response = errorResponse(refusal, flavour);
  if (response.status < 500) {
    log.debug(
      { code: refusal.error.code, url: request.url, reason: refusal.error.message },
      'HTTP request refused',
    );
  }
  const retryAfterMs = refusal.error.details?.retry_after_ms;
  if (typeof retryAfterMs === 'number') reply.header('retry-after', String(Math.ceil(retryAfterMs / 1000)));
  return reply
    .code(response.status)
    .header(ERROR_CODE_HEADER, refusal.error.code)
    .type(
      response.contentType === 'text/plain' ? 'text/plain; charset=utf-8' : 'application/json; charset=utf-8',
    )
    .send(typeof response.body === 'string' ? response.body : JSON.stringify(response.body));
}

/** For documentation: every code with its status on Mercurio routes and on Chat21 routes. */
export function httpStatusTable(): {
  code: ErrorCode;
  status: number;
  chat21Status: number;
  description: string;
}[] {
  return (Object.keys(ERROR_CODES) as ErrorCode[]).map((code) => ({
    code,
    status: ERROR_CODES[code].status,
    chat21Status: CHAT21_STATUS[code] ?? ERROR_CODES[code].status,
    description: ERROR_CODES[code].description,
  }));
}
