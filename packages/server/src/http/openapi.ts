import swagger from '@fastify/swagger';
import type { FastifyInstance } from 'fastify';
import { jsonSchemaTransform } from 'fastify-type-provider-zod';
import { API_VERSION } from './routes/meta.js';

/**
 * The OpenAPI document, built from the routes' zod schemas (request shapes) and summaries.
 * Registered before the routes so that it sees them; served at `<base>/openapi.json`.
 */
export function registerOpenApi(app: FastifyInstance, basePath: string): void {
  app.register(swagger, {
    openapi: {
      info: {
        title: 'Mercurio HTTP API',
        version: API_VERSION,
        description:
          "Chat21's REST routes (same paths, bodies, statuses and envelopes) and Mercurio's additions " +
          'under /v1. Authenticate with `Authorization: <jwt>` or `Authorization: Bearer <jwt>`. ' +
          'Errors: see docs/errors.md; every error response has the `x-mercurio-error` header.',
      },
      servers: [{ url: basePath || '/' }],
      components: {
        securitySchemes: { jwt: { type: 'apiKey', in: 'header', name: 'Authorization' } },
      },
      security: [{ jwt: [] }],
    },
    transform: (document) => {
      const transformed = jsonSchemaTransform(document);
      // Paths relative to the server url (the base path).
      return { ...transformed, url: stripBase(transformed.url, basePath) };
    },
  });
}

function stripBase(url: string, basePath: string): string {
  return basePath && url.startsWith(basePath) ? url.slice(basePath.length) || '/' : url;
}

export function openApiRoute(app: FastifyInstance): void {
  app.get('/openapi.json', { config: { public: true }, schema: { hide: true } }, async () => app.swagger());
}
