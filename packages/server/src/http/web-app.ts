import { existsSync, readFileSync, statSync } from 'node:fs';
import { extname, join, normalize, sep } from 'node:path';
import { fileURLToPath } from 'node:url';
import helmet, { type FastifyHelmetOptions } from '@fastify/helmet';
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import type { WebAppSettings } from './settings.js';

/** The built web chat app (packages/web/dist), next to this package in the repository. */
export const WEB_DIST = fileURLToPath(new URL('../../../web/dist/', import.meta.url));

const TYPES: Record<string, string> = {
  '.html': 'text/html; charset=utf-8',
  '.js': 'text/javascript; charset=utf-8',
  '.css': 'text/css; charset=utf-8',
  '.svg': 'image/svg+xml',
  '.png': 'image/png',
  '.ico': 'image/x-icon',
  '.json': 'application/json',
  '.map': 'application/json',
};

export interface WebAppOptions {
  web: WebAppSettings;
  /** The HTTP API's base path (MERCURIO_HTTP_BASE_PATH): the app's API on its own origin by default. */
  apiBasePath: string;
  dir?: string;
}

/**
 * Serves the web app's files at `/`, the widget loader at `/widget.js` and the app's endpoints at
 * `/config.json` (public routes) when the folder exists (`npm run build -w @mercurio/web`);
 * otherwise does nothing. Unknown files fall through to the API's 404.
 *
 * The app connects only where `/config.json` says (this server's configuration), never where its
 * address says; and it is served with a strict Content Security Policy (no inline script, connects
 * only to its own origin and the configured endpoints, framed only by the configured host origins).
 */
export function serveWebApp(app: FastifyInstance, options: WebAppOptions): boolean {
  const dir = options.dir ?? WEB_DIST;
  if (!existsSync(join(dir, 'index.html'))) return false;
  const root = normalize(dir);
  const send = (path: string) => {
    const file = normalize(join(root, path === '/' || path === '' ? 'index.html' : path));
    if (!file.startsWith(root.endsWith(sep) ? root : root + sep)) return undefined;
    if (!existsSync(file) || !statSync(file).isFile()) return undefined;
    return { body: readFileSync(file), type: TYPES[extname(file)] ?? 'application/octet-stream' };
  };
  const handler = async (request: FastifyRequest, reply: FastifyReply) => {
    const path = decodeURIComponent(request.url.split('?')[0]!);
    const found = send(path);
    if (!found) return reply.callNotFound();
    reply.type(found.type);
    reply.header(
      'cache-control',
      path.startsWith('/assets/') ? 'public, max-age=31536000, immutable' : 'no-cache',
    );
    return found.body;
  };
  const endpoints = {
    api: options.web.apiUrl ?? options.apiBasePath,
    ws: options.web.mqttUrl ?? '/ws',
  };
  // An encapsulated scope: the security headers go on the web app's routes, not on the API's.
  void app.register(async (scope) => {
    await scope.register(helmet, securityHeaders(options.web));
    scope.get('/', { config: { public: true } }, handler);
    scope.get('/assets/*', { config: { public: true } }, handler);
    scope.get('/config.json', { config: { public: true } }, async (_request, reply) =>
      reply.header('cache-control', 'no-cache').send(endpoints),
    );
    // The embeddable widget's loader (packages/web/src/loader.ts): host pages of other origins
    // load it with a <script> tag, which a same-origin resource policy would block.
    scope.get(
      '/widget.js',
      { config: { public: true }, helmet: { crossOriginResourcePolicy: { policy: 'cross-origin' } } },
      handler,
    );
  });
  return true;
}

/**
 * Helmet's headers with a strict CSP for the app: scripts, styles and everything else only from
 * this origin (Vite's build has no inline script or style; workers also from blobs); connections to this origin (HTTP and
 * WebSocket) and the configured endpoints; framed only by the widget's configured host origins
 * (else by nobody, with X-Frame-Options: DENY for browsers that do not know frame-ancestors).
 */
export function securityHeaders(web: WebAppSettings): FastifyHelmetOptions {
  const configured = [web.apiUrl, web.mqttUrl].flatMap((url) => (url ? [new URL(url).origin] : []));
  const frameAncestors =
    web.frameAncestors === '*' ? ['*'] : web.frameAncestors.length ? [...web.frameAncestors] : ["'none'"];
  const framable = frameAncestors[0] !== "'none'";
  return {
    global: true,
    contentSecurityPolicy: {
      useDefaults: false,
      directives: {
        defaultSrc: ["'self'"],
        scriptSrc: ["'self'"],
        styleSrc: ["'self'"],
        imgSrc: ["'self'", 'data:'],
        fontSrc: ["'self'"],
        connectSrc: ["'self'", ...sameHostWebSocket(), ...configured],
        // MQTT.js runs its keepalive timers in a worker made from a blob (timers of a page in the
        // background are throttled; a worker's are not).
        workerSrc: ["'self'", 'blob:'],
        objectSrc: ["'none'"],
        baseUri: ["'none'"],
        formAction: ["'self'"],
        frameAncestors,
      },
    },
    xFrameOptions: framable ? false : { action: 'deny' },
    // TLS and its HSTS policy belong to whatever terminates TLS in front of the server.
    strictTransportSecurity: false,
  };
}

/**
 * ws:/wss: on the host the page came from. CSP Level 3 has 'self' cover them, but not every
 * browser in use does. The Host header only shapes the answer to its own request.
 */
function sameHostWebSocket(): ((request: unknown) => string)[] {
  const host = (request: unknown) => {
    const value = (request as { headers: Record<string, string | undefined> }).headers.host ?? '';
    return /^[A-Za-z0-9.:[\]-]+$/.test(value) ? value : undefined;
  };
  return [
    (request) => {
      const h = host(request);
      return h ? `ws://${h}` : "'self'";
    },
    (request) => {
      const h = host(request);
      return h ? `wss://${h}` : "'self'";
    },
  ];
}
