import { MercurioError } from '../errors.js';
import { conversationKey, type GroupRecord, type StoredMessage } from '../store/types.js';
import type { Actor, MessageActionDeps, Target } from './deps.js';

export interface VisibleMessage {
  message: StoredMessage;
  /** The group of a group message (null for a direct one, or a group that is gone). */
  group: GroupRecord | null;
  /** The conversation as the actor sees it. */
  conversWith: string;
}

/**
 * The message the actor names, if they can see it: a message of their direct conversation with
 * `conversWith` or of a group they are a member of, not hidden from them. Anything else — an
 * unknown id, another app's or another conversation's message, one hidden from them — is the same
 * `message_not_found`, so that an id never tells whether it exists elsewhere.
 */
export async function visibleMessage(
  deps: Pick<MessageActionDeps, 'store'>,
  actor: Actor,
  target: Target,
): Promise<VisibleMessage> {
  const notFound = () =>
    new MercurioError('message_not_found', `no message ${target.messageId} in this conversation`);
  const message = await deps.store.findMessage(target.app, target.messageId);
  if (!message) throw notFound();
  let group: GroupRecord | null = null;
  let conversWith: string;
  if (message.channelType === 'group') {
    conversWith = message.recipient;
    if (target.conversWith !== undefined && target.conversWith !== conversWith) throw notFound();
    group = await deps.store.getGroup(target.app, conversWith);
    if (!actor.admin && !group?.members.includes(actor.user)) throw notFound();
  } else {
    conversWith = message.sender === actor.user ? message.recipient : message.sender;
    if (target.conversWith !== undefined && target.conversWith !== conversWith) throw notFound();
    if (!actor.admin && message.conversationKey !== conversationKey('direct', actor.user, conversWith))
      throw notFound();
  }
  if (!actor.admin) {
    const hiddenFor = (message.body.attributes as Record<string, unknown> | undefined)?.hiddenFor;
    if (hiddenFor === actor.user) throw notFound();
    const hidden = await deps.store.hiddenFor(target.app, actor.user, [message.messageId]);
    if (hidden.size > 0) throw notFound();
  }
  return { message, group, conversWith };
}

/** Whether a message is a tombstone (deleted for everyone). */
export function isDeleted(message: StoredMessage): boolean {
  return typeof message.body.deleted_at === 'number';
}
