import { conversationKindOf, type MessageCopy, MessageCopySchema } from '@mercurio/protocol';

/**
 * The part of a schema the SDK uses: protocol's zod schemas have it (the SDK imports nothing but
 * the protocol package, so it names no zod type itself).
 */
export interface Schema<T> {
  safeParse(
    value: unknown,
  ):
    | { success: true; data: T }
    | { success: false; error: { issues: readonly { path: readonly PropertyKey[]; message: string }[] } };
}

/** Told of each inbound payload that was dropped: what it was, where it came from, and why. */
export type ReportInvalid = (message: string, details: { topic?: string; cause: unknown }) => void;

/** Where a payload came from and what it should have been, for the report of a dropped one. */
export interface Origin {
  /** `a message`, `a typing event`… */
  what: string;
  /** The MQTT topic it arrived on (absent for HTTP answers). */
  topic?: string;
  /** Said instead of the topic, e.g. `the history of bob`. */
  source?: string;
}

/**
 * The payload as its schema's type, or undefined — reported — when it does not fit. A buggy
 * server or a proxy can put anything into an inbox; what does not fit never reaches the app
 * (and never as a wrongly typed object).
 */
export function checked<T>(
  schema: Schema<T>,
  value: unknown,
  origin: Origin,
  report: ReportInvalid,
): T | undefined {
  const result = schema.safeParse(value);
  if (result.success) return result.data;
  const issues = result.error.issues.map(
    (issue) => `${issue.path.map(String).join('.') || '(payload)'}: ${issue.message}`,
  );
  report(
    `dropped ${origin.what} that does not fit the protocol (${origin.topic ?? origin.source ?? 'unknown source'}): ${issues.join('; ')}`,
    { ...(origin.topic === undefined ? {} : { topic: origin.topic }), cause: issues },
  );
  return undefined;
}

/**
 * A message copy in conversation `conversWith`, live or from a history page. A copy without
 * `channel_type` (Chat21's, or stored before the server stamped it) gets the kind Chat21's id
 * rule gives it, the same rule the `message` event's `kind` follows; everything else is checked.
 */
export function checkedMessage(
  conversWith: string,
  value: unknown,
  origin: Omit<Origin, 'what'>,
  report: ReportInvalid,
): MessageCopy | undefined {
  const withKind =
    isObject(value) && value.channel_type === undefined
      ? { ...value, channel_type: conversationKindOf(undefined, conversWith) }
      : value;
  return checked(MessageCopySchema, withKind, { ...origin, what: 'a message' }, report);
}

export function isObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}
