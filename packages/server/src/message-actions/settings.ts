/** Changing messages (issue 15): config.ts reads these, the composition root passes them down. */
export interface MessageActionSettings {
  /** How long after sending its author may edit a message, in seconds; 0: no limit. */
  readonly editWindowSeconds: number;
  /** Distinct reactions one message may carry. */
  readonly reactionsPerMessageMax: number;
  /** Reactions one user may put on one message. */
  readonly reactionsPerUserMax: number;
  /** Largest message body an edit may produce, in bytes (the inbound payload limit). */
  readonly maxMessageBytes: number;
}

export const DEFAULT_MESSAGE_ACTION_SETTINGS: MessageActionSettings = {
  editWindowSeconds: 0,
  reactionsPerMessageMax: 50,
  reactionsPerUserMax: 10,
  maxMessageBytes: 64 * 1024,
};
