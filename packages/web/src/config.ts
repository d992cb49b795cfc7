/**
 * Where the server is and how the app runs, from the page's address:
 *
 * - `?api=…&ws=…&app=…` override the same-origin defaults (`/api`, `/ws`, app `tilechat`);
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

export function readConfig(location: Location): AppConfig {
  const params = new URLSearchParams(location.search);
  const wsScheme = location.protocol === 'https:' ? 'wss' : 'ws';
  const peer = params.get('with');
  return {
    api: params.get('api') ?? `${location.origin}/api`,
    ws: params.get('ws') ?? `${wsScheme}://${location.host}/ws`,
    app: params.get('app') ?? 'tilechat',
    widget:
      params.get('widget') === '1' && peer
        ? { with: peer, group: params.get('group') === '1', title: params.get('title') ?? peer }
        : undefined,
  };
}
