/** One budget: at most `points` uses per fixed window of `windowSeconds`; `points` 0 turns it off. */
export interface Budget {
  readonly points: number;
  readonly windowSeconds: number;
}

/**
 * Per-user abuse limits (MERCURIO_RATE_*). The defaults are far above what a person does, so a
 * normal user never meets them; they stop floods from one account.
 */
export interface AbuseLimitSettings {
  /** New messages (MQTT outgoing, HTTP sends), per (app, sender). */
  readonly messages: Budget;
  /** Receipts, typing, presence, conversation updates: cheap for a client, fanned out by the router. */
  readonly signals: Budget;
  /** Groups created (REST and inline), per (app, creator). */
  readonly groups: Budget;
  /** Sender ids never limited (the app's bots, which speak in many conversations at once). */
  readonly exemptUsers: readonly string[];
}

/** What the limits are for: each has its own budget and counter. */
export type BudgetName = 'messages' | 'signals' | 'groups';
