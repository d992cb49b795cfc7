import { scopeAllows } from '@mercurio/protocol';
import { jwtVerify } from 'jose';

/** How the embedded broker checks a client's JWT: RabbitMQ's OAuth2 plugin settings. */
export interface TokenRules {
  /** HS256 secret (RabbitMQ: the `MAC` signing key in advanced.config). */
  secret: string;
  /** RabbitMQ's `resource_server_id`: a required audience and the scope prefix. */
  resourceServerId: string;
}

/** What an accepted token grants, kept on the connection. */
export interface ClientGrant {
  /** The token's `sub`: the user (or service) it was issued to. */
  subject: string;
  scopes: readonly string[];
  /** Expiry in ms since the epoch: the connection is closed then. */
  expiresAtMs: number;
}

/** MQTT 3.1.1 CONNACK codes RabbitMQ answers with (seen on 3.10 over TCP). */
export const CONNACK_BAD_CREDENTIALS = 4;
export const CONNACK_NOT_AUTHORIZED = 5;

export type TokenCheck = { ok: true; grant: ClientGrant } | { ok: false; code: number; reason: string };

const VHOST = '/';
const PERMISSIONS = ['read', 'write', 'configure'] as const;

/**
 * Verifies a client's password as RabbitMQ's OAuth2 plugin does: an HS256 JWT signed with the
 * shared secret whose `aud` contains the resource server id, not expired, granting some access to
 * the vhost. A token that fails verification gets "bad username or password" and one without
 * access to the vhost "not authorized", as RabbitMQ answers.
 *
 * One deliberate difference: `exp` is required here, while RabbitMQ 3.10 accepts a token without
 * it (a token that never expires); Mercurio never issues one.
 */
export async function checkClientToken(rules: TokenRules, password: Buffer | undefined): Promise<TokenCheck> {
  const token = password?.toString('utf8') ?? '';
  if (token === '') return { ok: false, code: CONNACK_BAD_CREDENTIALS, reason: 'no token' };
  let payload: Awaited<ReturnType<typeof jwtVerify>>['payload'];
  try {
    ({ payload } = await jwtVerify(token, new TextEncoder().encode(rules.secret), {
      algorithms: ['HS256'],
      audience: rules.resourceServerId,
      requiredClaims: ['exp'],
    }));
  } catch (error) {
    const reason = error instanceof Error ? error.message : 'invalid token';
    return { ok: false, code: CONNACK_BAD_CREDENTIALS, reason };
  }
  const scopes = scopeList(payload.scope);
  if (!hasVhostAccess(scopes, rules.resourceServerId)) {
    return {
      ok: false,
      code: CONNACK_NOT_AUTHORIZED,
      reason: `the token grants no access to vhost ${VHOST}`,
    };
  }
  return { ok: true, grant: { subject: payload.sub ?? '', scopes, expiresAtMs: (payload.exp ?? 0) * 1000 } };
}

/** The `scope` claim as a list; RabbitMQ also accepts it as one space-separated string. */
function scopeList(claim: unknown): string[] {
  if (typeof claim === 'string') return claim.split(' ').filter((scope) => scope !== '');
  if (Array.isArray(claim)) return claim.filter((scope): scope is string => typeof scope === 'string');
  return [];
}

/**
 * RabbitMQ's vhost access check: some scope of this resource server, of any permission, whose
 * vhost pattern matches. Each scope is rewritten to name a fixed resource so that the one
 * matcher in `protocol` decides the vhost pattern, quirks included.
 */
function hasVhostAccess(scopes: readonly string[], resourceServerId: string): boolean {
  const prefix = resourceServerId === '' ? '' : `${resourceServerId}.`;
  return scopes.some((scope) => {
    if (!scope.startsWith(prefix)) return false;
    const body = scope.slice(prefix.length);
    return PERMISSIONS.some((permission) => {
      if (!body.startsWith(`${permission}:`)) return false;
      const parts = body.slice(permission.length + 1).split('/');
      if (parts.length < 2 || parts.length > 3) return false;
      const probe = `${prefix}${permission}:${parts[0]}/x`;
      return scopeAllows([probe], { permission, vhost: VHOST, resource: 'x' }, resourceServerId);
    });
  });
}
