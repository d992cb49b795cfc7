import { z } from 'zod';
import type { ErrorEvent } from './errors.js';
import type {
  ConversationView,
  GroupPayload,
  MessageCopy,
  MessageUpdatedEvent,
  PresenceEvent,
  TypingEvent,
} from './schemas.js';
import { GroupSchema } from './schemas.js';
import { MessageStatus } from './status.js';

/**
 * Schemas of what the router publishes into a user's inbox (`apps/<app>/users/<user>/…`), for
 * clients that check what they receive before handing it to an app (the SDK does). Each is typed
 * as the interface it checks (`z.ZodType<MessageCopy>` …), so the compiler proves that whatever
 * passes is that type. Objects are loose: keys a newer server adds, and Chat21's own extra keys,
 * are kept.
 */

const statusCode = z.literal(Object.values(MessageStatus));
const channelType = z.enum(['direct', 'group']);
const count = z.number().int().nonnegative();

/** `…/messages/<cw>/clientadded` (and each message of a history page). */
export const MessageCopySchema: z.ZodType<MessageCopy> = z.looseObject({
  message_id: z.string().min(1),
  sender: z.string(),
  recipient: z.string(),
  app_id: z.string(),
  timestamp: z.number(),
  channel_type: channelType,
  status: statusCode,
  seq: count,
  text: z.string().nullable().optional(),
});

/**
 * `…/messages/<cw>/<message_id>/clientupdated`. Every key is optional (a client takes the
 * conversation and the message id from the topic), but a key that is there has its type.
 */
export const MessageUpdatedEventSchema: z.ZodType<Partial<MessageUpdatedEvent>> = z.looseObject({
  timelineOf: z.string().optional(),
  message_id: z.string().min(1).optional(),
  status: statusCode.optional(),
  read_by: z.string().optional(),
});

/**
 * A conversation as far as an event carries it (`…/conversations/<cw>/clientupdated` carries only
 * what changed; added, deleted and archived events the whole view): every key is optional, but a
 * key that is there has its type.
 */
export const ConversationViewPartSchema: z.ZodType<Partial<ConversationView>> = z.looseObject({
  timelineOf: z.string().optional(),
  conversWith: z.string().optional(),
  key: z.string().optional(),
  app_id: z.string().optional(),
  channel_type: channelType.optional(),
  is_new: z.boolean().optional(),
  archived: z.boolean().optional(),
  unread_count: count.optional(),
  last_seq: count.optional(),
  read_seq: count.optional(),
  last_message_text: z.string().nullable().optional(),
  timestamp: z.number().optional(),
  muted: z.boolean().optional(),
});

/** `…/groups/<group id>/clientupdated`: the group as the service that changed it published it. */
export const GroupUpdatedEventSchema: z.ZodType<GroupPayload> = GroupSchema;

/** `…/presence/<peer>/clientupdated`. */
export const PresenceEventSchema: z.ZodType<PresenceEvent> = z.looseObject({
  user_id: z.string(),
  status: z.enum(['online', 'offline']),
  timestamp: z.number(),
  last_online: z.number().optional(),
});

/** `…/typing/<cw>/clientupdated`. */
export const TypingEventSchema: z.ZodType<TypingEvent> = z.looseObject({
  writer_id: z.string(),
  writer_fullname: z.string().optional(),
  conversWith: z.string(),
  typing: z.boolean(),
  timestamp: z.number(),
});

/**
 * `…/errors/clientadded`. The code is any string, not only today's codes (docs/errors.md): a
 * client must still hear of a refusal whose code a newer server added.
 */
export const ErrorEventSchema: z.ZodType<
  Omit<ErrorEvent, 'code' | 'topic'> & { code: string; topic?: string }
> = z.looseObject({
  code: z.string().min(1),
  message: z.string(),
  topic: z.string().optional(),
  message_id: z.string().optional(),
  retry_after_ms: z.number().nonnegative().optional(),
  timestamp: z.number(),
});
