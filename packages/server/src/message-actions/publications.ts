import { type MessageChange, MessageStatus, type MessageStatusCode } from '@mercurio/protocol';
import type { Publication } from '../bus/bus.js';
import type { ConversationRecord, GroupRecord, StoredMessage } from '../store/types.js';
import { conversationView, messageCopy } from '../views.js';
import type { MessageActionDeps } from './deps.js';
import { quotesFor } from './quotes.js';

interface Party {
  user: string;
  conversWith: string;
}

/** Every inbox holding a copy: both users of a direct conversation, every member of a group. */
function partiesOf(message: StoredMessage, group: GroupRecord | null): Party[] {
  if (message.channelType === 'group') {
    const members = group?.members ?? [message.sender];
    return members.map((user) => ({ user, conversWith: message.recipient }));
  }
  const parties = [{ user: message.sender, conversWith: message.recipient }];
  if (message.recipient !== message.sender)
    parties.push({ user: message.recipient, conversWith: message.sender });
  return parties;
}

/** The status `user`'s copy shows now, from the read watermarks (as in history). */
function statusFor(message: StoredMessage, user: string, reads: Map<string, number>): MessageStatusCode {
  const read = (owner: string) => (reads.get(owner) ?? 0) >= message.seq;
  if (message.channelType === 'direct' && user === message.sender) {
    if (message.recipient === user) return MessageStatus.SENT;
    return read(message.recipient) ? MessageStatus.RETURN_RECEIPT : MessageStatus.SENT;
  }
  if (user === message.sender) return MessageStatus.DELIVERED;
  return read(user) ? MessageStatus.RECEIVED : MessageStatus.DELIVERED;
}

/**
 * A change every party sees: on Chat21's `…/messages/<cw>/<message_id>/clientupdated`, the whole
 * copy as that party would receive it in `clientadded` (status, seq, quote), plus `timelineOf`
 * and `change` — a superset of the receipt event. Then the conversation entries whose last
 * message it is.
 */
export async function changePublications(
  deps: Pick<MessageActionDeps, 'store'>,
  message: StoredMessage,
  group: GroupRecord | null,
  change: Exclude<MessageChange, 'hidden'>,
  conversations: readonly ConversationRecord[],
): Promise<Publication[]> {
  const { app, messageId } = message;
  const reads = await deps.store.readWatermarks(app, message.conversationKey);
  const quote = (await quotesFor(deps.store, app, [message])).get(messageId);
  const copies = partiesOf(message, group).map(
    ({ user, conversWith }): Publication => ({
      topic: { kind: 'messageUpdated', app, user, conversWith, messageId },
      payload: {
        ...messageCopy(message, statusFor(message, user, reads), user),
        ...(quote ? { quote } : {}),
        timelineOf: user,
        change,
      },
    }),
  );
  return [...copies, ...entryPublications(conversations)];
}

/** Rewritten conversation rows, each to its owner's `…/conversations/<cw>/clientupdated`. */
export function entryPublications(conversations: readonly ConversationRecord[]): Publication[] {
  return conversations.map(
    (conversation): Publication => ({
      topic: {
        kind: 'conversationUpdated',
        app: conversation.app,
        user: conversation.owner,
        conversWith: conversation.conversWith,
      },
      payload: conversationView(conversation),
    }),
  );
}

/** Delete-for-me: only the user's own inboxes learn the message is gone from their timeline. */
export async function hiddenPublication(
  deps: Pick<MessageActionDeps, 'store'>,
  message: StoredMessage,
  user: string,
  conversWith: string,
): Promise<Publication> {
  const { app, messageId } = message;
  const reads = await deps.store.readWatermarks(app, message.conversationKey);
  return {
    topic: { kind: 'messageUpdated', app, user, conversWith, messageId },
    payload: {
      timelineOf: user,
      message_id: messageId,
      seq: message.seq,
      status: statusFor(message, user, reads),
      change: 'hidden',
    },
  };
}
