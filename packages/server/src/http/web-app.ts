import { existsSync, readFileSync, statSync } from 'node:fs';
import { extname, join, normalize, sep } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';

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

/**
 * Serves the web app's files at `/` and the widget loader at `/widget.js` (public routes) when
 * the folder exists (`npm run build -w @mercurio/web`); otherwise does nothing. Unknown files
 * fall through to the API's 404.
 */
export function serveWebApp(app: FastifyInstance, dir = WEB_DIST): boolean {
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
    reply.header('x-content-type-options', 'nosniff');
    return found.body;
  };
  app.get('/', { config: { public: true } }, handler);
  app.get('/assets/*', { config: { public: true } }, handler);
  // The embeddable widget's loader (packages/web/src/loader.ts), for host pages.
  app.get('/widget.js', { config: { public: true } }, handler);
  return true;
}
