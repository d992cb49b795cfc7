import type {
  FastifyBaseLogger,
  FastifyInstance,
  FastifyRequest,
  RawReplyDefaultExpression,
  RawRequestDefaultExpression,
  RawServerDefault,
} from 'fastify';
import type { ZodTypeProvider } from 'fastify-type-provider-zod';
import type { JWTPayload } from 'jose';
import type { Attachments } from '../attachments/attachments.js';
import type { JwtSettings } from '../auth/tokens.js';
import type { Bus } from '../bus/bus.js';
import type { AbuseLimits } from '../limits/abuse-limits.js';
import type { Logger } from '../logger.js';
import type { MessageActionSettings } from '../message-actions/settings.js';
import type { PublicationRelay } from '../outbox/publication-relay.js';
import type { DataPolicyServices } from '../policies/services.js';
import type { DeadLetterStore } from '../store/dead-letter-store.js';
import type { Store } from '../store/store.js';
import type { WebhookOutbox } from '../webhooks/outbox.js';
import type { HttpSettings } from './settings.js';

/** What the HTTP API needs; time and ids are injectable so tests can pin them. */
export interface HttpDeps {
  settings: HttpSettings;
  jwt: JwtSettings;
  store: Store;
  /** Messages the router gave up on (the admin's dead-letter routes). */
  deadLetters: DeadLetterStore;
  bus: Bus;
  log: Logger;
  /** Per-user abuse limits: HTTP sends and groups created (429 with Retry-After). */
  limits: Pick<AbuseLimits, 'take'>;
  /**
   * Publishes what group administration committed to the outbox (the engine's relay); without it
   * the app runs a relay of its own on `store` and `bus`, stopped when the app closes.
   */
  publications?: Pick<PublicationRelay, 'flush'>;
  /** The purge and blob remover of the data-policy routes (the engine's); default: ones of the app's own. */
  policies?: DataPolicyServices;
  /** Uploads and files (docs/attachments.md); without it the attachment routes are not served. */
  attachments?: Attachments;
  now?: () => number;
  newId?: () => string;
  /** Editing, deleting and reacting to messages (issue 15); default: the defaults, no edit window. */
  messageActions?: MessageActionSettings;
  /** Which webhook events a message change writes (issue 15); default: none. */
  webhooks?: Pick<WebhookOutbox, 'entries' | 'wake' | 'enabled'>;
}

/** HttpDeps with the defaults filled in, as route modules see them. */
export interface HttpContext extends Required<Omit<HttpDeps, 'attachments'>> {
  attachments?: Attachments | undefined;
}

/** The authenticated caller: `sub`, `app_id` and `tiledesk_api_roles === 'admin'` of the token. */
export interface Caller {
  uid: string;
  /** Undefined for service tokens, which carry no app (admins of every app). */
  appId: string | undefined;
  admin: boolean;
  claims: JWTPayload;
}

/**
 * Chat21's routes keep Chat21's error statuses and bodies; Mercurio's own routes use the
 * catalogue's statuses and `{success: false, err: {code, message}}` (see errors.ts).
 */
export type Flavour = 'chat21' | 'mercurio';

declare module 'fastify' {
  interface FastifyContextConfig {
    flavour?: Flavour;
    /** No token needed (the OpenAPI document). */
    public?: boolean;
  }
  interface FastifyRequest {
    caller: Caller | null;
  }
}

/** The instance route modules register on: zod schemas validate and type their input. */
export type ZodApp = FastifyInstance<
  RawServerDefault,
  RawRequestDefaultExpression,
  RawReplyDefaultExpression,
  FastifyBaseLogger,
  ZodTypeProvider
>;

/** The authenticated caller of a route that requires a token (every route but the public ones). */
export function callerOf(request: FastifyRequest): Caller {
  if (!request.caller) throw new Error('route reached without authentication');
  return request.caller;
}
