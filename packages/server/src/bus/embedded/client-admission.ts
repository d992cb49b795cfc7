/** MQTT 3.1.1 CONNACK "identifier rejected". */
export const CONNACK_IDENTIFIER_REJECTED = 2;
/** MQTT 3.1.1 CONNACK "not authorized": also the answer to one connection too many. */
export const CONNACK_NOT_AUTHORIZED = 5;

/** A connection as admission sees it. */
export interface Connecting {
  readonly id: string;
  /** MQTT's clean session flag: false keeps a persistent session under the client id. */
  readonly clean: boolean;
}

export type Admission = { ok: true } | { ok: false; code: number; reason: string };

/**
 * Who may open a connection with which client id, per principal (the token's subject and the
 * scopes it grants: the same user of the same app, whatever token they refreshed to).
 *
 * - A client id belongs to the principal that holds it — connected, or with a persistent session
 *   stored under it — and is refused to anyone else at CONNECT: without this a stranger could
 *   disconnect a user by taking their client id, and with `clean: true` wipe their session. The
 *   same principal reconnecting takes over, as MQTT says.
 * - At most `maxConnectionsPerUser` connections per principal; a takeover of one of its own
 *   client ids does not count twice.
 *
 * Ownership of stored sessions is kept in memory, as Aedes' default persistence keeps the
 * sessions: with a persistence that survives a restart, the first principal to claim an id after
 * the restart owns it.
 */
export class ClientAdmission<Client extends Connecting> {
  readonly #maxConnectionsPerUser: number;
  readonly #connections = new Map<string, Set<Client>>();
  readonly #principals = new WeakMap<Client, string>();
  /** Client id → principal, for persistent sessions (clean: false). */
  readonly #sessionOwners = new Map<string, string>();

  constructor(maxConnectionsPerUser: number) {
    this.#maxConnectionsPerUser = maxConnectionsPerUser;
  }

  /**
   * Admits `client` for `principal` or says why not; `holder` is the client connected with the
   * same id, if any. An admitted client counts until `release`.
   */
  admit(client: Client, principal: string, holder: Client | undefined): Admission {
    const holderPrincipal = holder === undefined ? undefined : this.#principals.get(holder);
    const sessionOwner = this.#sessionOwners.get(client.id);
    if (
      (holderPrincipal !== undefined && holderPrincipal !== principal) ||
      (sessionOwner !== undefined && sessionOwner !== principal)
    ) {
      return { ok: false, code: CONNACK_IDENTIFIER_REJECTED, reason: 'client id held by another user' };
    }
    const open = this.#connections.get(principal) ?? new Set<Client>();
    const replacing = holder !== undefined && open.has(holder) ? 1 : 0;
    if (open.size - replacing >= this.#maxConnectionsPerUser) {
      return {
        ok: false,
        code: CONNACK_NOT_AUTHORIZED,
        reason: `too many connections for this user (limit ${this.#maxConnectionsPerUser})`,
      };
    }
    open.add(client);
    this.#connections.set(principal, open);
    this.#principals.set(client, principal);
    // A clean session wipes what was stored under the id (Aedes does): nobody owns it any more.
    if (client.clean) this.#sessionOwners.delete(client.id);
    else this.#sessionOwners.set(client.id, principal);
    return { ok: true };
  }

  /** The connection ended (its persistent session, if any, stays owned). */
  release(client: Client): void {
    const principal = this.#principals.get(client);
    if (principal === undefined) return;
    const open = this.#connections.get(principal);
    open?.delete(client);
    if (open?.size === 0) this.#connections.delete(principal);
  }
}
