// The router's settings: config.ts reads them from the environment, the composition root passes
// them down; the router never imports config.ts.

/** Trusted display names (user profiles) as the router puts them on messages and typing events. */
export interface SenderNameSettings {
  /** How long a router process reuses a user's name before reading it again (0: every time). */
  readonly cacheMs: number;
}

export interface RouterSettings {
  /** Prefix of the router's durable queue names; routers sharing it share the work. */
  readonly queuePrefix: string;
  /** Serve only this app id; undefined serves every app. */
  readonly app: string | undefined;
  /** Unacknowledged messages a router holds per queue. */
  readonly prefetch: number;
  /**
   * AMQP channels the router publishes on. A RabbitMQ channel is one Erlang process, i.e. at most
   * one core of the broker; with one, it was the busiest process of the broker under load.
   */
  readonly publishChannels: number;
  /** Largest accepted inbound payload, in bytes. */
  readonly maxPayloadBytes: number;
  /** How many direct-conversation peers are told when a user's presence changes. */
  readonly presencePeerLimit: number;
  /** Delay before a message whose processing failed is handed back to the broker. */
  readonly retryDelayMs: number;
  // Poison messages (docs/architecture.md, "Retries and dead letters").
  /** Deepest nesting of objects and arrays accepted in a payload (the store's JSON code recurses). */
  readonly maxPayloadDepth: number;
  /** Attempts at a message failing with a data error (it can never succeed) before it is dead-lettered. */
  readonly dataErrorAttempts: number;
  /**
   * How far back a redelivered or resent message without a message_id looks for its copy already
   * stored (the same content from the same sender in the same conversation), in ms; 0: never.
   */
  readonly retransmitWindowMs: number;
}
