import { connect, type MercurioClient, type OutboxEntry, type OutboxStorage } from '@mercurio/sdk';
import { AttachmentFiles } from './attachment-files.js';
import type { AppConfig } from './config.js';

/**
 * Signing in and connecting. A token comes from one of three places:
 * - dev mode: the server's development login (`POST /v1/apps/:app/dev/login`, a user name only);
 * - the host application, in the page address: `#token=<jwt>` (a fragment is never sent to a
 *   server, so it stays out of access logs; the app removes it from the address at once and keeps
 *   it in sessionStorage so that a reload stays signed in);
 * - the host page, by `postMessage` (widget mode, see hostTokens()).
 */
export class DevLoginUnavailable extends Error {}

export async function devLogin(config: AppConfig, user: string): Promise<string> {
  const response = await fetch(`${config.api}/v1/apps/${encodeURIComponent(config.app)}/dev/login`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ user_id: user }),
  });
  if (response.status === 404) {
    throw new DevLoginUnavailable(
      'This server has no development sign-in (MERCURIO_DEV is off). Open the app with a token from your application: …/#token=<jwt>.',
    );
  }
  const json = (await response.json().catch(() => ({}))) as {
    result?: { token?: string };
    message?: string;
    err?: { message?: string };
  };
  if (!response.ok || !json.result?.token)
    throw new Error(json.err?.message ?? json.message ?? `sign in failed (${response.status})`);
  return json.result.token;
}

const TOKEN_KEY = (app: string) => `mercurio:${app}:token`;

/** A token the host put in the address (`#token=…`), or the one kept from it for reloads. */
export function addressToken(config: AppConfig): string | undefined {
  const hash = new URLSearchParams(location.hash.slice(1));
  const token = hash.get('token');
  if (token) {
    sessionStorage.setItem(TOKEN_KEY(config.app), token);
    hash.delete('token');
    const rest = hash.toString();
    history.replaceState(null, '', `${location.pathname}${location.search}${rest ? `#${rest}` : ''}`);
    return token;
  }
  return sessionStorage.getItem(TOKEN_KEY(config.app)) ?? undefined;
}

export function forgetAddressToken(config: AppConfig): void {
  sessionStorage.removeItem(TOKEN_KEY(config.app));
}

/**
 * Tokens from the page that embeds this one (widget mode): the app posts `mercurio:ready` (and
 * `mercurio:token-request` when it needs a fresh one) to its parent, and takes the token of the
 * next `{type: 'mercurio:token', token}` its parent posts. Messages from any other window are ignored.
 */
export function hostTokens(): { first: Promise<string>; refresh: () => Promise<string> } {
  let waiting: ((token: string) => void)[] = [];
  window.addEventListener('message', (event: MessageEvent) => {
    if (event.source !== window.parent) return;
    const data = event.data as { type?: unknown; token?: unknown } | null;
    if (data?.type !== 'mercurio:token' || typeof data.token !== 'string') return;
    const resolve = waiting;
    waiting = [];
    for (const r of resolve) r(data.token);
  });
  const ask = (type: string) =>
    new Promise<string>((resolve) => {
      waiting.push(resolve);
      window.parent.postMessage({ type }, '*');
    });
  return {
    first: ask('mercurio:ready'),
    refresh: () => ask('mercurio:token-request'),
  };
}

/**
 * Keeps the SDK's outbox in localStorage (per app and user), so that messages written offline
 * survive a reload and go out with the next connection.
 */
export function localOutbox(app: string, user: string): OutboxStorage {
  const key = `mercurio:${app}:${user}:outbox`;
  const read = (): OutboxEntry[] => {
    try {
      const value = JSON.parse(localStorage.getItem(key) ?? '[]') as unknown;
      return Array.isArray(value) ? (value as OutboxEntry[]) : [];
    } catch {
      return [];
    }
  };
  const write = (entries: OutboxEntry[]) => localStorage.setItem(key, JSON.stringify(entries));
  return {
    load: read,
    put: (entry) => write([...read().filter((e) => e.id !== entry.id), entry]),
    delete: (id) => write(read().filter((e) => e.id !== id)),
  };
}

/** A signed-in user: the client, and the signed URLs of attachments (same token, same refresh). */
export interface Session {
  client: MercurioClient;
  files: AttachmentFiles;
}

/**
 * Connects a user: a stable MQTT client id per browser tab (kept across reloads, so the
 * persistent session is reused rather than a new one made each time) and the outbox in
 * localStorage. The attachment links ask the API with the token the client holds: a refresh
 * (by the client before expiry, or by the links on a 401) serves both.
 */
export async function connectUser(
  config: AppConfig,
  token: string,
  user: string,
  tokenRefresh: (() => Promise<string>) | undefined,
): Promise<Session> {
  let latest = token;
  const refresh = tokenRefresh && (async () => (latest = await tokenRefresh()));
  const files = new AttachmentFiles(config.api, config.app, { current: () => latest, refresh });
  const idKey = `mercurio:${config.app}:${user}:client-id`;
  let clientId = sessionStorage.getItem(idKey);
  if (!clientId) {
    clientId = `${user}_web_${crypto.randomUUID().slice(0, 8)}`;
    sessionStorage.setItem(idKey, clientId);
  }
  const client = await connect({
    endpoint: config.ws,
    apiEndpoint: config.api,
    appId: config.app,
    token,
    clientId,
    storage: localOutbox(config.app, user),
    ...(refresh ? { tokenRefresh: refresh } : {}),
  });
  return { client, files };
}
