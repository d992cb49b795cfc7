import type { MessageDelete, MessageEdit, MessageReact } from '@mercurio/protocol';
import { reactionProblem } from '@mercurio/protocol';
import { MercurioError } from '../errors.js';
import type { ChangedMessage, MessageChangePlan } from '../store/message-action-store.js';
import type { OutboxEntry, StoredMessage } from '../store/types.js';
import { messageChangeEvent, type WebhookEvent } from '../webhooks/events.js';
import { isDeleted, type VisibleMessage, visibleMessage } from './access.js';
import { assertStorable, editedBody, hiddenEntryBody, sameContent, tombstoneBody } from './bodies.js';
import type { ActionResult, Actor, MessageActionDeps, Target } from './deps.js';
import { participantMentions, participantsOf } from './mentions.js';
import { changePublications, entryPublications, hiddenPublication } from './publications.js';

/** Edit: the author only, within the edit window; the previous version is kept. */
export async function editMessage(
  deps: MessageActionDeps,
  actor: Actor,
  target: Target,
  edit: MessageEdit,
): Promise<ActionResult> {
  const visible = await visibleMessage(deps, actor, target);
  const { message } = visible;
  const mentions = participantMentions(
    edit.mentions,
    participantsOf(message.channelType, message.recipient, visible.group?.members),
    message.sender,
  );
  const now = deps.now();
  const changed = await change(
    deps,
    visible,
    (current) => {
      if (current.sender !== actor.user) throw notAuthor('edit', current);
      if (isDeleted(current)) throw deletedError(current);
      const windowMs = deps.settings.editWindowSeconds * 1000;
      if (windowMs > 0 && now - current.createdAt > windowMs) {
        throw new MercurioError(
          'edit_window_expired',
          `message ${current.messageId} can be edited for ${deps.settings.editWindowSeconds} s after it was sent`,
        );
      }
      const body = editedBody(current, edit, mentions, now);
      // A replay of the same edit: nothing new to keep.
      if (sameContent(current.body, body)) return { kind: 'none' };
      assertStorable(body, deps.settings.maxMessageBytes);
      return {
        kind: 'edit',
        body,
        text: edit.text,
        at: now,
        by: actor.user,
        // Mentions an edit removes leave the flags as they are (the user may have seen them).
        newlyMentioned: newlyMentioned(current, mentions),
      };
    },
    (stored) => [messageChangeEvent('message-edited', stored, actor.user, now)],
  );
  return result(deps, visible, changed, 'edited');
}

/** Delete for everyone (author, group owner, admin) or hide for me (anyone who sees it). */
export async function deleteMessage(
  deps: MessageActionDeps,
  actor: Actor,
  target: Target,
  request: MessageDelete,
): Promise<ActionResult> {
  const visible = await visibleMessage(deps, actor, target);
  const now = deps.now();
  if (request.for === 'me') {
    const hidden = await deps.store.hideMessage(
      target.app,
      actor.user,
      visible.message,
      now,
      hiddenEntryBody(visible.message),
    );
    return {
      message: visible.message,
      changed: hidden.hidden,
      publications: [
        await hiddenPublication(deps, visible.message, actor.user, visible.conversWith),
        ...entryPublications(hidden.conversation ? [hidden.conversation] : []),
      ],
    };
  }
  const mayDelete = (current: StoredMessage) =>
    current.sender === actor.user ||
    actor.admin ||
    (visible.group !== null && visible.group.owner === actor.user);
  const changed = await change(
    deps,
    visible,
    (current) => {
      if (!mayDelete(current)) throw notAuthor('delete', current);
      // Deleting a tombstone again changes nothing (a replay).
      if (isDeleted(current)) return { kind: 'none' };
      return { kind: 'delete', body: tombstoneBody(current, now), at: now, by: actor.user };
    },
    (stored) => [messageChangeEvent('message-deleted', stored, actor.user, now, { for: 'everyone' })],
  );
  // After the commit, so a delete that fails keeps its files. A removal that fails fails the action,
  // which is tried again: the replay finds the tombstone (writes nothing) and removes them then.
  if (isDeleted(changed.message)) await deps.attachments?.removeForMessages(target.app, [target.messageId]);
  return result(deps, visible, changed, 'deleted');
}

/** Add or remove one emoji reaction; idempotent both ways. */
export async function reactToMessage(
  deps: MessageActionDeps,
  actor: Actor,
  target: Target,
  request: MessageReact,
): Promise<ActionResult> {
  const problem = reactionProblem(request.reaction);
  if (problem) throw new MercurioError('invalid_reaction', problem);
  const visible = await visibleMessage(deps, actor, target);
  const now = deps.now();
  const { reactionsPerMessageMax: perMessage, reactionsPerUserMax: perUser } = deps.settings;
  const changed = await change(
    deps,
    visible,
    (current) => {
      if (isDeleted(current)) throw deletedError(current);
      return {
        kind: 'react',
        reaction: request.reaction,
        user: actor.user,
        action: request.action,
        at: now,
        limits: { perMessage, perUser },
      };
    },
    (stored) => [
      messageChangeEvent('message-reaction', stored, actor.user, now, {
        reaction: request.reaction,
        action: request.action,
        user_id: actor.user,
        reactions: stored.body.reactions ?? {},
      }),
    ],
  );
  return result(deps, visible, changed, 'reactions');
}

/** One transaction: the locked message judged, changed, and its webhook rows. */
async function change(
  deps: MessageActionDeps,
  visible: VisibleMessage,
  decide: (current: StoredMessage) => MessageChangePlan,
  events: (stored: StoredMessage) => WebhookEvent[],
): Promise<ChangedMessage> {
  let written = 0;
  const changed = await deps.store.changeMessage(
    visible.message.app,
    visible.message.messageId,
    (current) => {
      // Gone since it was read (a data policy's purge): as if it never was.
      if (!current) throw new MercurioError('message_not_found', `no message ${visible.message.messageId}`);
      return decide(current);
    },
    deps.webhooks.enabled
      ? (stored): OutboxEntry[] => {
          const entries = deps.webhooks.entries(events(stored.message));
          written += entries.length;
          return entries;
        }
      : undefined,
  );
  if (written > 0) deps.webhooks.wake();
  return changed;
}

async function result(
  deps: MessageActionDeps,
  visible: VisibleMessage,
  changed: ChangedMessage,
  kind: 'edited' | 'deleted' | 'reactions',
): Promise<ActionResult> {
  return {
    message: changed.message,
    changed: changed.changed,
    publications: await changePublications(deps, changed.message, visible.group, kind, changed.conversations),
  };
}

/** The mentions an edit adds to those the message had. */
function newlyMentioned(current: StoredMessage, mentions: readonly string[] | undefined): string[] {
  if (mentions === undefined) return [];
  const before = Array.isArray(current.body.mentions) ? (current.body.mentions as unknown[]) : [];
  return mentions.filter((user) => !before.includes(user));
}

function notAuthor(what: 'edit' | 'delete', message: StoredMessage): MercurioError {
  return new MercurioError(
    'not_author',
    what === 'edit'
      ? `only its author may edit message ${message.messageId}`
      : `only its author, the group's owner or an admin may delete message ${message.messageId} for everyone`,
  );
}

function deletedError(message: StoredMessage): MercurioError {
  return new MercurioError('message_deleted', `message ${message.messageId} was deleted`);
}
