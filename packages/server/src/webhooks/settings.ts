import { z } from 'zod';
import { WEBHOOK_EVENTS, type WebhookEventType } from './events.js';

export interface WebhookEndpoint {
  /** Also the endpoint's identity in the outbox. */
  url: string;
  /** The events this endpoint wants. */
  events: ReadonlySet<WebhookEventType>;
  /** Only events of these apps; every app when undefined. */
  apps: ReadonlySet<string> | undefined;
}

export interface WebhookSettings {
  endpoints: readonly WebhookEndpoint[];
  /** HMAC-SHA256 key for X-Mercurio-Signature. */
  secret: string;
  maxAttempts: number;
  retryBaseMs: number;
  retryMaxMs: number;
  timeoutMs: number;
  pollMs: number;
}

/** `MERCURIO_WEBHOOKS`: a JSON array of `{url, events?: [...], apps?: [...]}`. */
export const WebhookEndpointsSchema = z
  .array(
    z.object({
      url: z.url({ protocol: /^https?$/ }),
      events: z.array(z.enum(WEBHOOK_EVENTS)).min(1).optional(),
      apps: z.array(z.string().min(1)).min(1).optional(),
    }),
  )
  .refine((list) => new Set(list.map((e) => e.url)).size === list.length, 'each url may appear once');

export function toEndpoints(list: z.infer<typeof WebhookEndpointsSchema>): WebhookEndpoint[] {
  return list.map((entry) => ({
    url: entry.url,
    events: new Set(entry.events ?? WEBHOOK_EVENTS),
    apps: entry.apps ? new Set(entry.apps) : undefined,
  }));
}

/** The endpoints that want this event: an empty list means nothing is written. */
export function endpointsFor(settings: WebhookSettings, app: string, type: WebhookEventType): string[] {
  return settings.endpoints
    .filter((endpoint) => endpoint.events.has(type) && (!endpoint.apps || endpoint.apps.has(app)))
    .map((endpoint) => endpoint.url);
}
