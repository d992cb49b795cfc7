import { z } from 'zod';
import type { MessageStatusCode } from './status.js';

/**
 * Payload schemas for what clients and services publish, and types for what the router
 * publishes back. Inbound objects are "loose": Chat21 clients attach extra keys that are kept
 * and forwarded verbatim, so only the keys Mercurio interprets are checked.
 */

const attributes = z.record(z.string(), z.unknown()).nullable();
const optionalText = z.string().nullable().optional();

/** An inline ("volatile") group carried by a message: `{members: {<uid>: 1}, name?}`. */
export const InlineGroupSchema = z.looseObject({
  members: z.record(z.string(), z.unknown()),
  name: z.string().optional(),
});

export const OutgoingMessageSchema = z.looseObject({
  text: optionalText,
  type: optionalText,
  recipient_fullname: optionalText,
  sender_fullname: optionalText,
  attributes: attributes.optional(),
  metadata: z.unknown().optional(),
  channel_type: z.enum(['direct', 'group']).optional(),
  timestamp: z.number().optional(),
  /** Client-supplied id: a UUID, kept so that a retried publish is recognised as the same message. */
  message_id: z.uuid().optional(),
  group: InlineGroupSchema.optional(),
});
export type OutgoingMessage = z.infer<typeof OutgoingMessageSchema>;

/** `{status: 200}` on `…/messages/<cw>/<message_id>/update`. */
export const ReceiptSchema = z.looseObject({ status: z.literal(200) });

/** The conversation fields a client may change; anything else in the patch is ignored. */
export const ConversationPatchSchema = z.looseObject({
  is_new: z.boolean().optional(),
  /** Mercurio: a muted conversation's new messages do not bump its unread count. */
  muted: z.boolean().optional(),
  /** Mercurio, direct conversations: block (true) or unblock (false) the other user. */
  blocked: z.boolean().optional(),
});
export type ConversationPatch = z.infer<typeof ConversationPatchSchema>;

/** Chat21 clients publish `{connected: true}` on connect and leave `{disconnected: true}` as last will. */
export const PresencePayloadSchema = z.looseObject({
  connected: z.unknown().optional(),
  disconnected: z.unknown().optional(),
});

export const TypingPayloadSchema = z.looseObject({
  typing: z.boolean().optional(),
  writer_fullname: z.string().optional(),
});

export const GroupMembersSchema = z.record(z.string(), z.unknown());

export const GroupSchema = z.looseObject({
  uid: z.string(),
  name: z.string().optional(),
  appId: z.string().optional(),
  owner: z.string().optional(),
  members: GroupMembersSchema,
  createdOn: z.number().optional(),
  updatedOn: z.number().optional(),
  attributes: z.record(z.string(), z.unknown()).nullable().optional(),
  notification: z.unknown().optional(),
});
export type GroupPayload = z.infer<typeof GroupSchema>;

/** Published by services on `apps/observer/<app>/groups/update`. */
export const GroupUpdateCommandSchema = z.object({
  group: GroupSchema,
  notify_to: GroupMembersSchema,
});
export type GroupUpdateCommand = z.infer<typeof GroupUpdateCommandSchema>;

/** A message as delivered on `…/messages/<cw>/clientadded` (Chat21 §3.2 plus `seq`). */
export interface MessageCopy {
  [key: string]: unknown;
  message_id: string;
  sender: string;
  recipient: string;
  app_id: string;
  timestamp: number;
  channel_type: 'direct' | 'group';
  status: MessageStatusCode;
  /** Position of the message in its conversation: 1, 2, 3… assigned when it is stored. */
  seq: number;
  text?: string | null;
}

/** Conversation object (Chat21 §3.3) with Mercurio's unread counter and read watermark. */
export interface ConversationView {
  [key: string]: unknown;
  timelineOf: string;
  conversWith: string;
  key: string;
  app_id: string;
  channel_type: 'direct' | 'group';
  is_new: boolean;
  archived: boolean;
  unread_count: number;
  last_seq: number;
  read_seq: number;
  last_message_text: string | null;
  timestamp: number;
  /** Mercurio: muted by its owner (no unread bump); a push service should stay silent. */
  muted?: boolean;
}

/** `…/messages/<cw>/<message_id>/clientupdated` payload. */
export interface MessageUpdatedEvent {
  timelineOf: string;
  message_id: string;
  status: MessageStatusCode;
  /** Who read it (Mercurio addition; for groups, one event per reader). */
  read_by?: string;
}

export type PresenceStatus = 'online' | 'offline';

/** `…/presence/<peer>/clientupdated` payload. */
export interface PresenceEvent {
  user_id: string;
  status: PresenceStatus;
  timestamp: number;
  /** When the user was last online (ms), present when offline. */
  last_online?: number;
}

/** `…/typing/<cw>/clientupdated` payload. */
export interface TypingEvent {
  writer_id: string;
  writer_fullname?: string;
  conversWith: string;
  typing: boolean;
  timestamp: number;
}

// ——— Issue 15: changing messages (edit, delete, reactions) and replies / mentions ———

/** A user may mention this many users in one message (the router keeps only participants). */
export const MAX_MENTIONS = 50;

/** `mentions` on a message or an edit: user ids, at most MAX_MENTIONS. */
export const MentionsSchema = z.array(z.string().min(1).max(128)).max(MAX_MENTIONS);

/** The two optional top-level keys an outgoing message may carry to reply and to mention. */
export const ReplyAndMentionsSchema = z.looseObject({
  reply_to: z.string().min(1).max(128).optional(),
  mentions: MentionsSchema.optional(),
});

/** `…/messages/<cw>/<message_id>/edit`: the new text, and optionally new attributes, metadata, mentions. */
export const MessageEditSchema = z.object({
  text: z.string(),
  attributes: z.record(z.string(), z.unknown()).nullable().optional(),
  metadata: z.unknown().optional(),
  mentions: MentionsSchema.optional(),
});
export type MessageEdit = z.infer<typeof MessageEditSchema>;

/** `…/messages/<cw>/<message_id>/delete`: for everyone (the default) or hidden for me only. */
export const MessageDeleteSchema = z.object({ for: z.enum(['everyone', 'me']).default('everyone') });
export type MessageDelete = z.infer<typeof MessageDeleteSchema>;

/** `…/messages/<cw>/<message_id>/react`: add or remove one emoji reaction. */
export const MessageReactSchema = z.object({
  reaction: z.string(),
  action: z.enum(['add', 'remove']),
});
export type MessageReact = z.infer<typeof MessageReactSchema>;

/** What changed in a `…/<message_id>/clientupdated` event that carries the whole updated copy. */
export type MessageChange = 'edited' | 'deleted' | 'reactions' | 'hidden';

/** `reactions` on a message: per emoji, how many and the first users (by time). */
export type ReactionSummary = Record<string, { count: number; users: string[] }>;

/** `quote` on a reply: the replied-to message as it is now (computed when served). */
export interface MessageQuote {
  message_id: string;
  seq: number;
  sender: string;
  sender_fullname?: string;
  /** The first QUOTE_TEXT_LENGTH characters of its text ("" when deleted). */
  text: string;
  deleted?: true;
}

/** A quote's text is cut to this many characters (code points). */
export const QUOTE_TEXT_LENGTH = 120;
