/**
 * The catalogue of error codes Mercurio reports, on the wire (error events in the sender's
 * inbox namespace) and over HTTP. Codes are stable: clients switch on them, so a code is never
 * renamed or reused; only new codes are added.
 */
export const ERROR_CODES = {
  invalid_topic: { status: 400, description: 'The topic does not match the Mercurio/Chat21 topic grammar.' },
  invalid_id: {
    status: 400,
    description:
      "An id is empty, longer than 128 characters, or contains '/ . + # *', whitespace or control characters.",
  },
  invalid_json: { status: 400, description: 'The payload is not valid UTF-8 JSON.' },
  invalid_payload: {
    status: 400,
    description: 'The payload is JSON but does not have the documented shape.',
  },
  payload_too_large: { status: 413, description: 'The payload exceeds the configured size limit.' },
  not_a_member: { status: 403, description: 'The sender is not a member of the group.' },
  not_a_recipient: { status: 403, description: 'Only a recipient of a message may send a receipt for it.' },
  group_not_found: { status: 404, description: 'No group with this id exists in this app.' },
  message_not_found: {
    status: 404,
    description:
      'No message with this id exists in this conversation, or the user cannot see it (never told apart).',
  },
  conversation_not_found: { status: 404, description: 'The user has no conversation with this id.' },
  message_id_conflict: {
    status: 409,
    description: 'A client-supplied message_id is already used by another sender.',
  },
  reserved_id: {
    status: 400,
    description:
      "The id is reserved: 'system' (the sender of service messages), or a user id in the group form (containing `group-`).",
  },
  invalid_group_id: {
    status: 400,
    description:
      "A new group id must contain `group-` (Chat21's group form), so that a group never shares an id, a topic or a conversation with a user.",
  },
  // Changing messages (edit, delete, reactions, replies)
  not_author: {
    status: 403,
    description:
      "Only a message's author may edit it; only its author, the group's owner or an admin may delete it for everyone.",
  },
  message_deleted: {
    status: 410,
    description: 'The message was deleted for everyone: it cannot be edited, reacted to or replied to.',
  },
  edit_window_expired: {
    status: 403,
    description: 'The message is older than the edit window (`MERCURIO_EDIT_WINDOW_SECONDS`).',
  },
  invalid_reaction: {
    status: 400,
    description: 'A reaction must be exactly one emoji (one grapheme) of at most 32 bytes of UTF-8.',
  },
  too_many_reactions: {
    status: 409,
    description:
      'The message has the most distinct reactions allowed (`MERCURIO_REACTIONS_PER_MESSAGE_MAX`), or the user the most reactions on it (`MERCURIO_REACTIONS_PER_USER_MAX`).',
  },
  // Attachments (docs/attachments.md)
  attachment_not_found: {
    status: 404,
    description:
      "No attachment with this id that the caller may use here: none, another app's, another conversation's, another sender's, or already sent with another message (never told apart).",
  },
  attachment_too_large: {
    status: 413,
    description: "The upload exceeds the app's attachment size limit (`MERCURIO_ATTACHMENT_MAX_BYTES`).",
  },
  attachment_type_not_allowed: {
    status: 415,
    description:
      "The file's type, detected from its bytes (never from its name or the client's word), is not on the app's allow-list (`MERCURIO_ATTACHMENT_TYPES`).",
  },
  image_too_large: {
    status: 413,
    description:
      'The image declares more pixels than `MERCURIO_ATTACHMENT_MAX_PIXELS` (checked from its header, before decoding), or cannot be decoded.',
  },
  invalid_signature: {
    status: 403,
    description: 'The signed file URL was altered, is for another file, or has expired: ask for a new one.',
  },
  // HTTP API
  unauthorized: {
    status: 401,
    description:
      'No token, or a token that is malformed, not HS256, badly signed, without the required audience or claims.',
  },
  token_expired: { status: 401, description: 'The token is past its `exp`.' },
  forbidden: {
    status: 403,
    description:
      "The token's user may not do this: another user's data, another app, or an owner/admin-only change.",
  },
  not_found: { status: 404, description: 'No such route or resource.' },
  member_not_found: { status: 404, description: 'The user is not a member of the group.' },
  group_exists: {
    status: 409,
    description: 'A group with this id already exists in this app (creating never overwrites).',
  },
  already_member: { status: 409, description: 'The user is already a member of the group.' },
  invalid_request: {
    status: 400,
    description: 'The request body, query string or path parameters do not have the documented shape.',
  },
  unsupported_media_type: { status: 415, description: 'The request body is not `application/json`.' },
  internal_error: {
    status: 500,
    description: 'An unexpected failure (database or broker unavailable); the request may be retried.',
  },
  store_unavailable: {
    status: 503,
    description:
      'The database did not answer in time or cannot be reached (HTTP API); retry after `Retry-After` (a message sent with a `message_id` is stored once however often it is retried).',
  },
  rate_limited: {
    status: 429,
    description:
      'Too many messages, signals or new groups in the window; retry after `retry_after_ms` (`Retry-After`).',
  },
  user_blocked: {
    status: 403,
    description:
      'One of the two users of a direct conversation blocks the other: nothing was stored or delivered (docs/data-policies.md, "Blocking and muting").',
  },
  processing_failed: {
    status: 500,
    description:
      'The message was accepted but could not be stored (the database refused its data) and was set aside as a dead letter; resending it unchanged fails again.',
  },
  dead_letter_not_found: {
    status: 404,
    description:
      "No dead letter with this id in this app: never kept, another app's, or already replayed or dropped.",
  },
} as const satisfies Record<string, { status: number; description: string }>;

export type ErrorCode = keyof typeof ERROR_CODES;

/** Payload of an error event published to `apps/<app>/users/<user>/errors/clientadded`. */
export interface ErrorEvent {
  code: ErrorCode;
  message: string;
  /** The MQTT topic of the refused publish. */
  topic: string;
  /** The message_id the client supplied, when the refused payload had one. */
  message_id?: string;
  /** `rate_limited`: how long to wait before sending again, in milliseconds. */
  retry_after_ms?: number;
  timestamp: number;
}
