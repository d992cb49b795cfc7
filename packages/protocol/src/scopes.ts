import { checkAppId, checkId, type IdCheck } from './ids.js';

/**
 * JWT scopes as RabbitMQ's OAuth2 backend (rabbitmq_auth_backend_oauth2, 3.10) reads them, so
 * that the embedded broker grants exactly what RabbitMQ would grant for the same token.
 *
 * A scope is `<resource server id>.<permission>:<vhost>/<name>[/<routing key>]`; each of the
 * three is a wildcard pattern, split on '*' and then form-URL-decoded ('%2A' is a literal '*',
 * '%2F' a literal '/', '+' a space; a malformed '%' escape makes the pattern match nothing).
 */
export type Permission = 'read' | 'write' | 'configure';

export const DEFAULT_RESOURCE_SERVER_ID = 'rabbitmq';

export interface AccessRequest {
  permission: Permission;
  vhost: string;
  /** Queue or exchange name; for topic access, the exchange. */
  resource: string;
  /** Present for topic access: the routing key published with, or the binding key bound with. */
  routingKey?: string;
}

function validated(check: IdCheck): string {
  if (!check.ok) throw new TypeError(check.reason);
  return check.value;
}

// Ids cannot contain '*', '/', '+' or whitespace, but may contain '%', which the broker decodes:
// a user called 'U%31' would otherwise be granted user 'U1''s namespace.
function escapeId(id: string): string {
  return id.replaceAll('%', '%25');
}

/** The app and user ids as they go into scope patterns: validated, '%' escaped. */
function scopeIds(app: string, user: string): [string, string] {
  return [escapeId(validated(checkAppId(app))), escapeId(validated(checkId(user, 'user id')))];
}

/**
 * A client's scopes: publish and bind only in the user's own inbox namespace on `amq.topic`,
 * publish to the user's own outgoing namespace, and declare/bind/consume the queues RabbitMQ's
 * MQTT plugin creates for subscriptions (`mqtt-subscription-<clientId>qos<n>`).
 *
 * Chat21 (chat21-protocol.md §6.1) grants the same topic patterns but on every queue and exchange
 * name (`*\/*\/…`) and `configure:*\/*\/*`: because the routing-key part is ignored for queue
 * access, a client reaching the AMQP port could consume or delete the router's queues. Naming
 * `amq.topic` and `mqtt-subscription-*` closes that. Chat21-issued tokens keep working.
 * Throws TypeError for an invalid id.
 */
export function userScopes(
  app: string,
  user: string,
  resourceServerId = DEFAULT_RESOURCE_SERVER_ID,
): string[] {
  const [a, u] = scopeIds(app, user);
  const rs = resourceServerId;
  return [
    `${rs}.read:*/amq.topic/apps.${a}.users.${u}.*`,
    `${rs}.write:*/amq.topic/apps.${a}.users.${u}.*`,
    `${rs}.write:*/amq.topic/apps.${a}.outgoing.users.${u}.*`,
    `${rs}.read:*/mqtt-subscription-*`,
    `${rs}.write:*/mqtt-subscription-*`,
    `${rs}.configure:*/mqtt-subscription-*`,
  ];
}

/** Chat21's own client scope set (what Tiledesk issues): accepted, but broader than userScopes. */
export function chat21UserScopes(
  app: string,
  user: string,
  resourceServerId = DEFAULT_RESOURCE_SERVER_ID,
): string[] {
  const [a, u] = scopeIds(app, user);
  return [
    `${resourceServerId}.read:*/*/apps.${a}.users.${u}.*`,
    `${resourceServerId}.write:*/*/apps.${a}.users.${u}.*`,
    `${resourceServerId}.write:*/*/apps.${a}.outgoing.users.${u}.*`,
    `${resourceServerId}.configure:*/*/*`,
  ];
}

/** Full access, for the router and the API (chat21-protocol.md §6.2). */
export function serviceScopes(resourceServerId = DEFAULT_RESOURCE_SERVER_ID): string[] {
  return [
    `${resourceServerId}.read:*/*/*`,
    `${resourceServerId}.write:*/*/*`,
    `${resourceServerId}.configure:*/*/*`,
  ];
}

interface Grant {
  permission: Permission;
  vhost: string;
  name: string;
  /** Absent for two-part scopes, which therefore grant no topic access at all. */
  routingKey: string | undefined;
}

const PERMISSIONS: readonly Permission[] = ['read', 'write', 'configure'];

function parseScope(scope: string, prefix: string): Grant | undefined {
  if (!scope.startsWith(prefix)) return undefined;
  const body = scope.slice(prefix.length);
  const permission = PERMISSIONS.find((p) => body.startsWith(`${p}:`));
  if (permission === undefined) return undefined; // e.g. 'tag:administrator'
  const [vhost, name, routingKey, ...extra] = body.slice(permission.length + 1).split('/');
  if (vhost === undefined || name === undefined || extra.length > 0) return undefined;
  return { permission, vhost, name, routingKey };
}

const encoder = new TextEncoder();
const MALFORMED_ESCAPE = /%(?![0-9a-fA-F]{2})/;

/** application/x-www-form-urlencoded decoding, to bytes; undefined for a malformed '%' escape. */
function formDecode(part: string): Uint8Array | undefined {
  if (MALFORMED_ESCAPE.test(part)) return undefined;
  // '+' is replaced before decoding so that '%2B' still yields a literal '+'.
  const raw = encoder.encode(part.replaceAll('+', ' '));
  const bytes: number[] = [];
  for (let i = 0; i < raw.length; i++) {
    if (raw[i] === 0x25) {
      bytes.push(Number.parseInt(String.fromCharCode(raw[i + 1]!, raw[i + 2]!), 16));
      i += 2;
    } else {
      bytes.push(raw[i]!);
    }
  }
  return Uint8Array.from(bytes);
}

function startsWithBytes(haystack: Uint8Array, prefix: Uint8Array): boolean {
  return prefix.length <= haystack.length && prefix.every((byte, i) => haystack[i] === byte);
}

function indexOfBytes(haystack: Uint8Array, needle: Uint8Array, from: number): number {
  for (let i = from; i + needle.length <= haystack.length; i++) {
    if (needle.every((byte, j) => haystack[i + j] === byte)) return i;
  }
  return -1;
}

/**
 * RabbitMQ's wildcard match, byte for byte on UTF-8, quirks included: after each '*' the next
 * literal piece is taken at its first occurrence with no backtracking, so '*a' does not match
 * 'aa'; and a pattern ending in '**' needs at least one byte for the trailing wildcards. Both
 * only ever refuse, never grant, something a plain glob would decide differently.
 */
function wildcardMatch(subject: string, pattern: string): boolean {
  const pieces = pattern.split('*').map(formDecode);
  if (pieces.some((piece) => piece === undefined)) return false;
  const [first, ...rest] = pieces as Uint8Array[];
  const bytes = encoder.encode(subject);
  // Without a leading '*' the first piece must start the subject.
  if (first === undefined || !startsWithBytes(bytes, first)) return false;
  let pos = first.length;
  for (let i = 0; ; i++) {
    const piece = rest[i];
    if (piece === undefined) return pos === bytes.length; // pattern used up: subject must be too
    if (piece.length === 0 && i === rest.length - 1) return true; // trailing '*' takes the rest
    if (pos === bytes.length) return false; // subject used up with pattern pieces left
    if (piece.length === 0) continue; // '**' acts as one '*'
    const at = indexOfBytes(bytes, piece, pos);
    if (at < 0) return false;
    pos = at + piece.length;
  }
}

/**
 * Whether `scopes` (the token's `scope` claim as a list) grant `request`, as RabbitMQ decides:
 * scopes for another resource server are ignored; without a routing key this is resource
 * access (vhost and name; any routing-key part of the scope is ignored); with one it is topic
 * access (vhost, exchange and routing key), which only three-part scopes can grant.
 * Token variables such as '{sub}' are not expanded: the scopes built here never use them.
 */
export function scopeAllows(
  scopes: readonly string[],
  request: AccessRequest,
  resourceServerId = DEFAULT_RESOURCE_SERVER_ID,
): boolean {
  // RabbitMQ uses the scopes unfiltered and unstripped when no resource server id is set.
  const prefix = resourceServerId === '' ? '' : `${resourceServerId}.`;
  return scopes.some((scope) => {
    const grant = typeof scope === 'string' ? parseScope(scope, prefix) : undefined;
    if (grant === undefined || grant.permission !== request.permission) return false;
    const resourceMatches =
      wildcardMatch(request.vhost, grant.vhost) && wildcardMatch(request.resource, grant.name);
    if (!resourceMatches) return false;
    if (request.routingKey === undefined) return true;
    return grant.routingKey !== undefined && wildcardMatch(request.routingKey, grant.routingKey);
  });
}
