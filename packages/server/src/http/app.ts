import { randomUUID } from 'node:crypto';
import cors from '@fastify/cors';
import Fastify, { type FastifyBaseLogger, type FastifyInstance } from 'fastify';
import { serializerCompiler, validatorCompiler } from 'fastify-type-provider-zod';
import { MercurioError } from '../errors.js';
import { DEFAULT_MESSAGE_ACTION_SETTINGS } from '../message-actions/settings.js';
import { DEFAULT_PUBLICATION_RELAY_SETTINGS, PublicationRelay } from '../outbox/publication-relay.js';
import { dataPolicyServices } from '../policies/services.js';
import { unstorableReason, utf8Text } from '../storable-json.js';
import { WebhookOutbox } from '../webhooks/outbox.js';
import { createVerifier, tokenOf } from './auth.js';
import type { HttpContext, HttpDeps, ZodApp } from './context.js';
import { ERROR_CODE_HEADER, sendError } from './errors.js';
import { openApiRoute, registerOpenApi } from './openapi.js';
import { ClaimedNames } from './profiles.js';
import { analyticsRoutes } from './routes/analytics.js';
import { attachmentRoutes } from './routes/attachments.js';
import { blockRoutes } from './routes/blocks.js';
import { conversationRoutes } from './routes/conversations.js';
import { deadLetterRoutes } from './routes/dead-letters.js';
import { devLoginRoutes } from './routes/dev-login.js';
import { groupRoutes } from './routes/groups.js';
import { messageActionRoutes } from './routes/message-actions.js';
import { messageRoutes } from './routes/messages.js';
import { metaRoutes } from './routes/meta.js';
import { presenceRoutes } from './routes/presence.js';
import { profileRoutes } from './routes/profiles.js';
import { retentionRoutes } from './routes/retention.js';
import { searchRoutes } from './routes/search.js';
import { tokenRoutes } from './routes/tokens.js';
import { userDataRoutes } from './routes/user-data.js';

export type { Caller, HttpDeps } from './context.js';

const QUERY_TOKEN = /([?&](?:jwt|JWT|token)=)[^&]*/g;

/**
 * The HTTP API: Chat21's REST routes and Mercurio's additions under `settings.basePath`. It reads
 * the Store and publishes commands on the Bus (the router does the rest); it never listens by
 * itself — call `listen` on the result (or `inject` in tests).
 */
export function buildHttpApp(deps: HttpDeps): FastifyInstance {
  const ownRelay = deps.publications
    ? undefined
    : new PublicationRelay({
        queue: deps.store,
        bus: deps.bus,
        settings: DEFAULT_PUBLICATION_RELAY_SETTINGS,
        log: deps.log.child({ component: 'publications' }),
        now: Date.now,
      });
  const ctx: HttpContext = {
    now: Date.now,
    newId: randomUUID,
    ...deps,
    publications: deps.publications ?? ownRelay!,
    messageActions: deps.messageActions ?? {
      ...DEFAULT_MESSAGE_ACTION_SETTINGS,
      maxMessageBytes: deps.settings.maxMessageBytes,
    },
    webhooks: deps.webhooks ?? new WebhookOutbox(undefined),
    policies: deps.policies ?? dataPolicyServices({ store: deps.store, log: deps.log }),
  };
  const { settings, log } = ctx;
  // Query-string tokens must not reach the access log.
  const logger = log.child(
    { component: 'http' },
    {
      serializers: {
        req: (req: { method: string; url: string }) => ({
          method: req.method,
          url: req.url.replace(QUERY_TOKEN, '$1…'),
        }),
      },
    },
  );
  const app = Fastify({
    loggerInstance: logger as FastifyBaseLogger,
    bodyLimit: settings.bodyLimitBytes,
    routerOptions: { ignoreTrailingSlash: true, maxParamLength: 4096 },
    // URLs the router cannot even decode (a bad % escape) are refused like any other bad request.
    frameworkErrors: (error, request, reply) =>
      sendError(request, reply, new MercurioError('invalid_request', `bad request: ${error.message}`), log),
  });
  app.setValidatorCompiler(validatorCompiler);
  app.setSerializerCompiler(serializerCompiler);
  app.decorateRequest('caller', null);

  // JSON bodies: an empty body is no body (Chat21 clients send DELETE with a JSON content type).
  // Only JSON: any other content type is refused (415) rather than parsed as text.
  app.removeAllContentTypeParsers();
  app.addContentTypeParser('application/json', { parseAs: 'buffer' }, (_request, body, done) => {
    const text = typeof body === 'string' ? body : utf8Text(body);
    if (text === undefined)
      return done(new MercurioError('invalid_json', 'the request body is not valid UTF-8'), undefined);
    if (text.trim() === '') return done(null, undefined);
    let json: unknown;
    try {
      json = JSON.parse(text);
    } catch {
      return done(new MercurioError('invalid_json', 'the request body is not valid JSON'), undefined);
    }
    // What the store cannot take is refused here, for every route, rather than failing later (500).
    const unstorable = unstorableReason(text, json, settings.maxJsonDepth);
    if (unstorable)
      return done(new MercurioError('invalid_payload', `the request body ${unstorable}`), undefined);
    done(null, json);
  });

  // CORS: pages of the configured origins may call the API; errors carry the headers too, so the
  // page can read why it was refused.
  if (settings.corsOrigins === '*' || settings.corsOrigins.length > 0) {
    void app.register(cors, {
      origin: settings.corsOrigins === '*' ? '*' : [...settings.corsOrigins],
      methods: ['GET', 'POST', 'PUT', 'PATCH', 'DELETE'],
      allowedHeaders: ['Authorization', 'Content-Type'],
      exposedHeaders: [ERROR_CODE_HEADER, 'Retry-After'],
      maxAge: 600,
    });
  }

  const verifier = createVerifier(ctx.jwt, settings.audience);
  // A token's name claims are the user's trusted display name (the router reads it from the store).
  const claimedNames = new ClaimedNames(ctx);
  app.addHook('onRequest', async (request) => {
    // Preflights carry no token by design; the CORS plugin answers them.
    if (request.routeOptions.config?.public || request.method === 'OPTIONS') return;
    request.caller = await verifier.verify(tokenOf(request, settings));
    await claimedNames.record(request.caller);
  });
  app.setErrorHandler((error, request, reply) => sendError(request, reply, error, log));
  app.setNotFoundHandler((request, reply) =>
    sendError(
      request,
      reply,
      new MercurioError('not_found', `no route ${request.method} ${request.url.split('?')[0]}`),
      log,
    ),
  );

  registerOpenApi(app, settings.basePath);
  app.register(
    async (scope) => {
      const routes = scope.withTypeProvider() as unknown as ZodApp;
      openApiRoute(scope);
      metaRoutes(routes, ctx);
      conversationRoutes(routes, ctx);
      messageRoutes(routes, ctx);
      messageActionRoutes(routes, ctx);
      groupRoutes(routes, ctx);
      searchRoutes(routes, ctx);
      presenceRoutes(routes, ctx);
      tokenRoutes(routes, ctx);
      profileRoutes(routes, ctx);
      deadLetterRoutes(routes, ctx);
      if (ctx.attachments) attachmentRoutes(routes, ctx, ctx.attachments);
      retentionRoutes(routes, ctx);
      userDataRoutes(routes, ctx);
      analyticsRoutes(routes, ctx);
      blockRoutes(routes, ctx);
      if (settings.devLogin) devLoginRoutes(routes, ctx);
    },
    { prefix: settings.basePath },
  );
  if (ownRelay) {
    ownRelay.start();
    app.addHook('onClose', () => ownRelay.stop());
  }
  return app;
}
