import { randomUUID } from 'node:crypto';
import { serviceScopes, userIdProblem, userScopes } from '@mercurio/protocol';
import { SignJWT } from 'jose';
import { MercurioError } from '../errors.js';

export interface JwtSettings {
  /** HS256 secret shared with the broker's OAuth2 plugin. */
  secret: string;
  /** RabbitMQ's `resource_server_id`: the scope prefix and a required audience. */
  resourceServerId: string;
}

export interface UserTokenRequest {
  app: string;
  user: string;
  ttlSeconds: number;
  /** When it is issued (ms; default now): callers that report `exp` pass the time they report from. */
  issuedAt?: number;
  /** `tiledesk_api_roles`: 'admin' lets the token act for other users on the HTTP API. */
  role?: 'user' | 'admin';
  /** The user's names, as OpenID Connect claims (`name`, `given_name`, `family_name`). */
  names?: { fullname: string | null; firstname: string | null; lastname: string | null } | undefined;
}

const encoder = new TextEncoder();

function key(settings: JwtSettings): Uint8Array {
  return encoder.encode(settings.secret);
}

/**
 * A client token in Chat21's shape (chat21-protocol.md §6.1), so Chat21 clients and Tiledesk
 * accept it; no `kid` header, because RabbitMQ then uses its default key.
 */
export async function signUserToken(settings: JwtSettings, request: UserTokenRequest): Promise<string> {
  const { app, user } = request;
  // 'system' and group-form ids name the service and groups; a user holding one could pose as them.
  const problem = userIdProblem(user);
  if (problem) throw new MercurioError('reserved_id', problem);
  const issuedAt = Math.floor((request.issuedAt ?? Date.now()) / 1000);
  return new SignJWT({
    scope: userScopes(app, user, settings.resourceServerId),
    client_id: user,
    cid: user,
    azp: user,
    user_id: user,
    app_id: app,
    kid: 'mercurio-key',
    tiledesk_api_roles: request.role ?? 'user',
    ...nameClaims(request.names),
  })
    .setProtectedHeader({ alg: 'HS256', typ: 'JWT' })
    .setJti(randomUUID())
    .setSubject(user)
    .setAudience([settings.resourceServerId, user])
    .setIssuedAt(issuedAt)
    .setExpirationTime(issuedAt + request.ttlSeconds)
    .sign(key(settings));
}

function nameClaims(names: UserTokenRequest['names']): Record<string, string> {
  const claims: Record<string, string> = {};
  if (names?.fullname) claims.name = names.fullname;
  if (names?.firstname) claims.given_name = names.firstname;
  if (names?.lastname) claims.family_name = names.lastname;
  return claims;
}

/** A token for a backend component (router, API): full broker access. */
export async function signServiceToken(
  settings: JwtSettings,
  service: string,
  ttlSeconds: number,
): Promise<string> {
  return new SignJWT({ scope: serviceScopes(settings.resourceServerId), tiledesk_api_roles: 'admin' })
    .setProtectedHeader({ alg: 'HS256', typ: 'JWT' })
    .setJti(randomUUID())
    .setSubject(service)
    .setAudience([settings.resourceServerId])
    .setIssuedAt()
    .setExpirationTime(`${ttlSeconds}s`)
    .sign(key(settings));
}
