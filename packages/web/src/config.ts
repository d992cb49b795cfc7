/**
 * Where the server is and how the app runs.
 *
 * The endpoints (HTTP API and MQTT WebSocket) come from the server that served the page: it
 * answers `config.json` next to the page from its own configuration (MERCURIO_WEB_API_URL,
 * MERCURIO_WEB_MQTT_URL), and without one the app uses its own origin (`/api`, `/ws`). Never from
 * the address bar: a link such as `/?ws=wss://evil.example` would otherwise make the app hand the
 * signed-in user's token to whatever server the link names.
 *
 * From the address bar, only what names no server:
 * - `?app=…` the app id (default `tilechat`; a token's own `app_id` wins);
 * - `?widget=1&with=<user or group id>[&group=1][&title=…]` is widget mode (one conversation, the
 *   token comes from the host page by `postMessage`; see widget.ts and loader.ts);
 * - `#token=<jwt>` signs the full app in with a token from the host application (production).
 */
export interface AppConfig {
  api: string;
  ws: string;
  app: string;
  widget: { with: string; group: boolean; title: string } | undefined;
}

/** What `config.json` holds: absolute URLs, or paths on the page's own origin. */
interface ServerEndpoints {
  api?: unknown;
  ws?: unknown;
}

export async function readConfig(location: Location, base: string): Promise<AppConfig> {
  const params = new URLSearchParams(location.search);
  const peer = params.get('with');
  const endpoints = await serverEndpoints(base);
  return {
    ...resolveEndpoints(location, endpoints),
    app: params.get('app') ?? 'tilechat',
    widget:
      params.get('widget') === '1' && peer
        ? { with: peer, group: params.get('group') === '1', title: params.get('title') ?? peer }
        : undefined,
  };
}

/** The server's `config.json` (same origin, next to the page); none when it has none (e.g. `vite dev`). */
async function serverEndpoints(base: string): Promise<ServerEndpoints> {
  const url = new URL('config.json', base);
  const response = await fetch(url, { credentials: 'omit', cache: 'no-store' }).catch(() => undefined);
  if (!response?.ok) return {};
  const json = (await response.json().catch(() => ({}))) as unknown;
  return typeof json === 'object' && json !== null ? (json as ServerEndpoints) : {};
}

export function resolveEndpoints(
  location: Pick<Location, 'origin' | 'host' | 'protocol'>,
  endpoints: ServerEndpoints,
): { api: string; ws: string } {
  const wsScheme = location.protocol === 'https:' ? 'wss:' : 'ws:';
  const api = new URL(typeof endpoints.api === 'string' ? endpoints.api : '/api', location.origin);
  const ws = new URL(typeof endpoints.ws === 'string' ? endpoints.ws : '/ws', location.origin);
  // A path on the page's origin: the same host over WebSocket.
  if (ws.protocol === 'http:' || ws.protocol === 'https:') ws.protocol = wsScheme;
  if (api.protocol !== 'http:' && api.protocol !== 'https:') throw new Error(`bad API endpoint ${api.href}`);
  if (ws.protocol !== 'ws:' && ws.protocol !== 'wss:') throw new Error(`bad WebSocket endpoint ${ws.href}`);
  return { api: api.href.replace(/\/$/, ''), ws: ws.href };
}
