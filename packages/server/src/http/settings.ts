// The HTTP API's and the web app's settings: config.ts reads them from the environment, the
// composition root passes them down; the HTTP API never imports config.ts.

/** The HTTP API (src/http): where it listens and the limits of its pages. */
export interface HttpSettings {
  readonly port: number;
  readonly host: string;
  /** Prefix of every route ('' or '/segment…', no trailing '/'); Chat21's BASEURL, default '/api'. */
  readonly basePath: string;
  /** Accept `?jwt=`, `?JWT=`, `?token=` (Chat21 did; tokens then end up in access logs). */
  readonly queryTokens: boolean;
  /** An audience every API token must carry (default: the resource server id). */
  readonly audience: string;
  /** Largest history page (Chat21's fixed 200). */
  readonly historyPageMax: number;
  /** Largest conversation-list page. */
  readonly conversationsPageMax: number;
  /** Most search hits per request. */
  readonly searchMax: number;
  /** Most users per presence request. */
  readonly presenceMax: number;
  /** Most members a group may have when created or changed over the API. */
  readonly groupMaxMembers: number;
  readonly bodyLimitBytes: number;
  /** The router's payload limit (MERCURIO_MAX_PAYLOAD_BYTES): a message sent over HTTP must fit it too. */
  readonly maxMessageBytes: number;
  /** Deepest nesting of objects and arrays in a JSON body (MERCURIO_MAX_PAYLOAD_DEPTH, as for MQTT). */
  readonly maxJsonDepth: number;
  /** Lifetime of user tokens issued by the admin endpoint, unless the request asks for less/more. */
  readonly userTokenTtlSeconds: number;
  readonly userTokenMaxTtlSeconds: number;
  /** The unsafe development login route (MERCURIO_DEV). */
  readonly devLogin: boolean;
  /**
   * Web origins whose pages may call the API (CORS): a list, every origin ('*': tokens travel in
   * the Authorization header, never in cookies), or none (same origin only).
   */
  readonly corsOrigins: readonly string[] | '*';
}

/**
 * The web chat app and its widget (src/http/web-app.ts): the endpoints it is told to use, and who
 * may frame it. The app takes endpoints only from here (or its own origin), never from its address.
 */
export interface WebAppSettings {
  /** The HTTP API's public URL for the app; undefined: the page's origin + the API's base path. */
  readonly apiUrl: string | undefined;
  /** The MQTT WebSocket's public URL (e.g. RabbitMQ's Web-MQTT); undefined: the page's origin + /ws. */
  readonly mqttUrl: string | undefined;
  /**
   * Origins whose pages may frame the app (host pages of the widget; CSP frame-ancestors): a
   * list, every origin ('*'), or none. Default: MERCURIO_HTTP_CORS_ORIGINS (every origin in dev mode).
   */
  readonly frameAncestors: readonly string[] | '*';
}
