/**
 * Users and groups share one namespace on the wire: a group's copies go to
 * `users/<member>/messages/<group id>/clientadded`, exactly where a direct conversation with a
 * user of that id would go, and conversation lists, history routes and Chat21 clients key a
 * conversation by that id alone. So the two kinds of id must never meet. Chat21's convention
 * keeps them apart: a group id contains `group-` (REST default `group-<uuid>`, Tiledesk's
 * `support-group-<project>-<uuid>`), a user id does not. Mercurio enforces both halves: new
 * groups get ids in this form, and ids in this form are never users.
 */

import { SYSTEM_SENDER } from './ids.js';

/** The mark of Chat21's group ids (Chat21 tests `recipient.includes("group-")`). */
export const GROUP_ID_MARK = 'group-';

export type ConversationKind = 'direct' | 'group';

/** Whether an id is in Chat21's group form, i.e. can only name a group. */
export function isGroupFormId(id: string): boolean {
  return id.includes(GROUP_ID_MARK);
}

/**
 * Whether a message to `recipient` is a group message, decided the way Chat21 decides it:
 * it says so (`channel_type: "group"`) or its recipient is a group-form id. Never decided by
 * which groups happen to exist, so no group can capture a direct conversation.
 */
export function conversationKindOf(channelType: unknown, recipient: string): ConversationKind {
  return channelType === 'group' || isGroupFormId(recipient) ? 'group' : 'direct';
}

/** Why `id` may not be a user id (a group-form id or the service sender), or undefined. */
export function userIdProblem(id: string): string | undefined {
  if (id === SYSTEM_SENDER) return `'${SYSTEM_SENDER}' is the sender of service messages`;
  if (isGroupFormId(id)) {
    return `'${id}' contains '${GROUP_ID_MARK}', the mark of group ids; a user id may not`;
  }
  return undefined;
}

/** Why `id` may not name a new group, or undefined. */
export function newGroupIdProblem(id: string): string | undefined {
  if (id === SYSTEM_SENDER) return `'${SYSTEM_SENDER}' is reserved`;
  if (!isGroupFormId(id)) {
    return (
      `group ids contain '${GROUP_ID_MARK}' (e.g. '${GROUP_ID_MARK}${id}'), so that a group never ` +
      'shares an id, a topic or a conversation with a user'
    );
  }
  return undefined;
}
