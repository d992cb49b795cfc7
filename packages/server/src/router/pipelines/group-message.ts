import {
  checkId,
  type InlineGroupSchema,
  MessageStatus,
  newGroupIdProblem,
  type OutgoingMessage,
  SYSTEM_SENDER,
  type TopicOf,
  userIdProblem,
} from '@mercurio/protocol';
import type { z } from 'zod';
import { MercurioError } from '../../errors.js';
import type { GroupRecord } from '../../store/types.js';
import type { RouterContext } from '../context.js';
import type { Decision } from '../decision.js';
import { newMessage, updatesConversations } from './message-builder.js';

/** An inline group larger than this is refused: fan-out lists belong in stored groups. */
export const MAX_INLINE_GROUP_MEMBERS = 1000;

type InlineGroup = z.infer<typeof InlineGroupSchema>;

/**
 * A group message: stored once, one copy (status 150) to every member, the sender included.
 * Only members may write. An inline group creates the group on its first message; from then on
 * it is an ordinary group, so a later message cannot rewrite who is in it.
 */
export async function groupMessage(
  ctx: RouterContext,
  topic: TopicOf<'outgoing'>,
  payload: OutgoingMessage,
  stored: GroupRecord | null,
  contentKey?: string,
): Promise<Decision> {
  const { user: sender, recipient: groupId } = topic;
  const group = stored ?? (await createInlineGroup(ctx, topic, payload));
  if (sender !== SYSTEM_SENDER && !group.members.includes(sender)) {
    throw new MercurioError('not_a_member', `${sender} is not a member of group ${groupId}`);
  }
  const hiddenFor = payload.attributes?.hiddenFor;
  const members = group.members.filter((member) => member !== hiddenFor);
  const inline = payload.group
    ? { group: { ...payload.group, uid: groupId, members: membersMap(group) } }
    : {};
  const message = newMessage(ctx, topic, payload, 'group', inline, contentKey);
  const deliveries = updatesConversations(payload)
    ? members.map((member) => ({ owner: member, conversWith: groupId, isSender: member === sender }))
    : [];
  // Every member's copy is the same: one payload object, which the bus serialises once.
  const copies = members.map((member) => ({
    user: member,
    conversWith: groupId,
    status: MessageStatus.DELIVERED,
  }));
  return { commit: { message, deliveries, copies, recipients: members } };
}

async function createInlineGroup(
  ctx: RouterContext,
  topic: TopicOf<'outgoing'>,
  payload: OutgoingMessage,
): Promise<GroupRecord> {
  const inline: InlineGroup | undefined = payload.group;
  if (!inline) throw new MercurioError('group_not_found', `group ${topic.recipient} does not exist`);
  const idProblem = newGroupIdProblem(topic.recipient);
  if (idProblem) throw new MercurioError('invalid_group_id', idProblem);
  const members = new Set([topic.user]);
  for (const member of Object.keys(inline.members)) {
    // Chat21 clients list the group itself among its members.
    if (member === topic.recipient) continue;
    const check = checkId(member, 'group member id');
    if (!check.ok) throw new MercurioError('invalid_id', check.reason);
    const memberProblem = userIdProblem(member);
    if (memberProblem) throw new MercurioError('reserved_id', `group member id: ${memberProblem}`);
    members.add(member);
  }
  if (members.size > MAX_INLINE_GROUP_MEMBERS) {
    throw new MercurioError(
      'invalid_payload',
      `an inline group has at most ${MAX_INLINE_GROUP_MEMBERS} members`,
    );
  }
  await ctx.limits.take('group', topic.app, topic.user);
  const now = ctx.now();
  const { group } = await ctx.store.createGroupIfAbsent({
    app: topic.app,
    uid: topic.recipient,
    name: inline.name ?? payload.recipient_fullname ?? topic.recipient,
    owner: topic.user,
    members: [...members],
    attributes: null,
    volatile: true,
    createdOn: now,
    updatedOn: now,
  });
  return group;
}

function membersMap(group: GroupRecord): Record<string, 1> {
  return Object.fromEntries(group.members.map((member) => [member, 1 as const]));
}
