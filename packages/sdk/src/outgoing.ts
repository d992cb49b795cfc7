import { type ConversationKind, conversationKindOf } from '@mercurio/protocol';
import type { MessageContent, SendOptions } from './options.js';

/**
 * The payload of an outgoing message. It always says its kind (`channel_type`), so that the
 * server never has to guess it from which groups exist: a direct message stays direct even when
 * some group shares its recipient's id. The kind is a group when the caller says so (the `group`
 * option, or `channel_type: "group"` in the content) or the recipient is a group-form id (Chat21's
 * own rule); a direct message otherwise.
 */
export function outgoingPayload(
  to: string,
  content: MessageContent,
  messageId: string,
  options: SendOptions = {},
): Record<string, unknown> {
  const payload: Record<string, unknown> =
    typeof content === 'string' ? { text: content, type: 'text' } : { type: 'text', ...content };
  payload.message_id = messageId;
  payload.channel_type = sendKind(to, payload.channel_type, options);
  if (options.senderFullname !== undefined) payload.sender_fullname = options.senderFullname;
  if (options.recipientFullname !== undefined) payload.recipient_fullname = options.recipientFullname;
  if (options.attributes !== undefined) payload.attributes = options.attributes;
  if (options.replyTo !== undefined) payload.reply_to = options.replyTo;
  if (options.mentions !== undefined) payload.mentions = [...options.mentions];
  if (typeof options.group === 'object') {
    const members = Object.fromEntries(options.group.members.map((member) => [member, 1]));
    payload.group = {
      members,
      ...(options.group.name === undefined ? {} : { name: options.group.name }),
    };
  }
  return payload;
}

/** The kind a message is sent as; `group: false` insists on a direct message. */
export function sendKind(to: string, channelType: unknown, options: SendOptions): ConversationKind {
  if (options.group === false) {
    if (conversationKindOf(undefined, to) === 'group')
      throw new TypeError(`'${to}' is a group id: it cannot receive a direct message`);
    return 'direct';
  }
  if (options.group) return 'group';
  return conversationKindOf(channelType, to);
}
