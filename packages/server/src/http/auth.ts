import { checkId } from '@mercurio/protocol';
import type { FastifyRequest } from 'fastify';
import { errors as joseErrors, jwtVerify } from 'jose';
import type { JwtSettings } from '../auth/tokens.js';
import { MercurioError } from '../errors.js';
import type { Caller } from './context.js';
import type { HttpSettings } from './settings.js';

const QUERY_TOKEN_NAMES = ['jwt', 'JWT', 'token'] as const;

/**
 * The token of a request: the `Authorization` header, raw (Chat21) or after `Bearer ` / `JWT `;
 * then, only when enabled, the query parameters Chat21 accepted.
 */
export function tokenOf(request: FastifyRequest, settings: HttpSettings): string | undefined {
  const header = request.headers.authorization;
  if (typeof header === 'string' && header.trim() !== '') {
    return header.trim().replace(/^(Bearer|JWT)\s+/i, '');
  }
  if (!settings.queryTokens) return undefined;
  const query = (request.query ?? {}) as Record<string, unknown>;
  for (const name of QUERY_TOKEN_NAMES) {
    const value = query[name];
    if (typeof value === 'string' && value !== '') return value;
  }
  return undefined;
}

export interface Verifier {
  verify(token: string | undefined): Promise<Caller>;
}

/** HS256 only (no `alg: none`, no key confusion), `exp` and `sub` required, the audience checked. */
export function createVerifier(jwt: JwtSettings, audience: string): Verifier {
  const key = new TextEncoder().encode(jwt.secret);
  return {
    async verify(token) {
      if (!token) throw new MercurioError('unauthorized', 'a token is required (Authorization header)');
      let claims: Awaited<ReturnType<typeof jwtVerify>>['payload'];
      try {
        ({ payload: claims } = await jwtVerify(token, key, {
          algorithms: ['HS256'],
          audience,
          requiredClaims: ['exp', 'sub'],
        }));
      } catch (error) {
        if (error instanceof joseErrors.JWTExpired)
          throw new MercurioError('token_expired', 'the token has expired');
        const reason = error instanceof joseErrors.JOSEError ? error.code : 'malformed token';
        throw new MercurioError('unauthorized', `the token was refused (${reason})`);
      }
      const sub = checkId(claims.sub, 'token sub');
      if (!sub.ok) throw new MercurioError('unauthorized', `the token was refused: ${sub.reason}`);
      const appId = claims.app_id;
      if (appId !== undefined && typeof appId !== 'string') {
        throw new MercurioError('unauthorized', 'the token was refused: app_id must be a string');
      }
      return { uid: sub.value, appId, admin: claims.tiledesk_api_roles === 'admin', claims };
    },
  };
}

/** The caller's token is for this app (or is a service token, admin of every app). */
export function assertApp(caller: Caller, app: string): void {
  if (caller.appId === app) return;
  if (caller.appId === undefined && caller.admin) return;
  throw new MercurioError('forbidden', `the token is not valid for app ${app}`);
}

/** The caller is `user` (the `sub` owns what it reads), or an admin acting for them. */
export function assertActsFor(caller: Caller, app: string, user: string): void {
  assertApp(caller, app);
  if (caller.uid !== user && !caller.admin) {
    throw new MercurioError('forbidden', `${caller.uid} may not act for ${user}`);
  }
}

export function assertAdmin(caller: Caller, app: string): void {
  assertApp(caller, app);
  if (!caller.admin) throw new MercurioError('forbidden', 'an admin token is required');
}
