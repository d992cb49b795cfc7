/**
 * The embeddable chat widget: `widget.js`, one classic script for a host page.
 *
 * ```html
 * <script src="https://chat.example.com/widget.js"></script>
 * <script>
 *   MercurioWidget.init({ token, with: 'support', title: 'Support', tokenRefresh: getNewToken });
 * </script>
 * ```
 *
 * It adds a launcher button and, when opened, an iframe with the chat app in widget mode (one
 * conversation with `with`). The token (made by the host's backend, e.g. with
 * `POST /v1/apps/:app/tokens`) goes to the iframe by `postMessage`, only to the chat server's
 * origin, never in a URL; so does whether the chat is on screen (`mercurio:shown`: messages are
 * marked read only while it is). The iframe reports its unread count for the launcher's badge. Built by `vite.loader.config.ts` as an IIFE whose global is
 * `MercurioWidget`.
 */
export interface WidgetOptions {
  /** A user token for the visitor (JWT), from the host application's backend. */
  token: string;
  /** The conversation: a user id (direct) or a group id (with `group: true`). */
  with: string;
  group?: boolean;
  /** The header's title; default `with`. */
  title?: string;
  /** Default: the token's app_id. */
  app?: string;
  /**
   * The chat server (where widget.js came from by default). Its own configuration says where
   * its API and MQTT WebSocket are (MERCURIO_WEB_API_URL, MERCURIO_WEB_MQTT_URL): a host page
   * cannot point the chat, and the visitor's token, anywhere else.
   */
  server?: string;
  /** Open the chat at once. */
  open?: boolean;
  /** A new token when the current one is about to expire. */
  tokenRefresh?: () => Promise<string>;
}

export interface WidgetHandle {
  open(): void;
  close(): void;
  /** Hands the widget a new token. */
  setToken(token: string): void;
  destroy(): void;
}

const script = document.currentScript as HTMLScriptElement | null;
const scriptBase = script?.src ? new URL('.', script.src).href : `${location.origin}/`;

/** A speech bubble, drawn (no emoji font needed). */
function chatIcon(): SVGSVGElement {
  const ns = 'http://www.w3.org/2000/svg';
  const svg = document.createElementNS(ns, 'svg');
  svg.setAttribute('viewBox', '0 0 24 24');
  svg.setAttribute('width', '28');
  svg.setAttribute('height', '28');
  svg.setAttribute('aria-hidden', 'true');
  const path = document.createElementNS(ns, 'path');
  path.setAttribute('fill', 'currentColor');
  path.setAttribute('d', 'M4 3h16a2 2 0 0 1 2 2v11a2 2 0 0 1-2 2H9l-5 4v-4a2 2 0 0 1-2-2V5a2 2 0 0 1 2-2z');
  svg.append(path);
  return svg;
}

export function init(options: WidgetOptions): WidgetHandle {
  const server = new URL(options.server ?? scriptBase);
  const params = new URLSearchParams({
    widget: '1',
    with: options.with,
    title: options.title ?? options.with,
  });
  if (options.group) params.set('group', '1');
  if (options.app) params.set('app', options.app);

  const frame = document.createElement('iframe');
  frame.src = new URL(`?${params}`, server).href;
  frame.title = options.title ?? 'Chat';
  frame.id = 'mercurio-widget-frame';
  Object.assign(frame.style, {
    position: 'fixed',
    right: '16px',
    bottom: '88px',
    width: '370px',
    height: 'min(600px, calc(100vh - 112px))',
    maxWidth: 'calc(100vw - 32px)',
    border: '0',
    borderRadius: '14px',
    boxShadow: '0 8px 32px rgba(0,0,0,.18)',
    background: '#fff',
    zIndex: '2147483000',
    display: 'none',
  });

  const badge = document.createElement('span');
  Object.assign(badge.style, {
    position: 'absolute',
    top: '-4px',
    right: '-4px',
    minWidth: '20px',
    padding: '0 5px',
    borderRadius: '10px',
    background: '#e74c3c',
    color: '#fff',
    font: '600 12px/20px system-ui, sans-serif',
    display: 'none',
  });
  const launcher = document.createElement('button');
  launcher.type = 'button';
  launcher.id = 'mercurio-widget-launcher';
  launcher.setAttribute('aria-label', 'Chat');
  launcher.append(chatIcon());
  Object.assign(launcher.style, {
    position: 'fixed',
    right: '16px',
    bottom: '16px',
    width: '56px',
    height: '56px',
    borderRadius: '50%',
    border: '0',
    background: '#2f6fed',
    color: '#fff',
    display: 'grid',
    placeItems: 'center',
    cursor: 'pointer',
    boxShadow: '0 4px 16px rgba(0,0,0,.2)',
    zIndex: '2147483000',
  });
  launcher.append(badge);

  let token = options.token;
  const post = () => frame.contentWindow?.postMessage({ type: 'mercurio:token', token }, server.origin);
  // Whether the chat is on screen: messages are marked read only then.
  const shown = () => frame.style.display !== 'none';
  const postShown = () =>
    frame.contentWindow?.postMessage({ type: 'mercurio:shown', shown: shown() }, server.origin);
  const onMessage = (event: MessageEvent) => {
    if (event.source !== frame.contentWindow || event.origin !== server.origin) return;
    const data = event.data as { type?: unknown; count?: unknown } | null;
    if (data?.type === 'mercurio:ready') {
      post();
      postShown();
    } else if (data?.type === 'mercurio:token-request') {
      if (!options.tokenRefresh) post();
      else
        void options.tokenRefresh().then(
          (fresh) => {
            token = fresh;
            post();
          },
          () => post(), // the current token, then: the server decides
        );
    } else if (data?.type === 'mercurio:unread' && typeof data.count === 'number') {
      badge.textContent = String(data.count);
      badge.style.display = data.count > 0 ? 'block' : 'none';
    }
  };
  window.addEventListener('message', onMessage);

  const open = () => {
    frame.style.display = 'block';
    launcher.setAttribute('aria-expanded', 'true');
    postShown();
  };
  const close = () => {
    frame.style.display = 'none';
    launcher.setAttribute('aria-expanded', 'false');
    postShown();
  };
  launcher.addEventListener('click', () => (shown() ? close() : open()));
  document.body.append(frame, launcher);
  if (options.open) open();
  else close();

  return {
    open,
    close,
    setToken(fresh) {
      token = fresh;
      post();
    },
    destroy() {
      window.removeEventListener('message', onMessage);
      frame.remove();
      launcher.remove();
    },
  };
}
