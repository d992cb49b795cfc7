import { GROUP_ID_MARK, newGroupIdProblem, SYSTEM_SENDER, userIdProblem } from '@mercurio/protocol';
import type { Publication } from '../bus/bus.js';
import { MercurioError } from '../errors.js';
import { displayName } from '../store/profile-store.js';
import { conversationKey, type GroupRecord } from '../store/types.js';
import { messageCopy } from '../views.js';
import type { Caller, HttpContext } from './context.js';
import { type GroupNotification, groupView, membersMap } from './views.js';

/** Chat21 replays this many messages to a member who joins (the newest ones, in Mercurio). */
export const JOIN_HISTORY_SIZE = 200;

/**
 * Group administration for the HTTP API: the store is changed first, then the group-changed
 * notification (`apps/observer/<app>/groups/update`, delivered by the router) and Chat21's info
 * messages (§3.5, sent as `system` through the router like any group message) are published.
 */
export class GroupService {
  readonly #ctx: HttpContext;

  constructor(ctx: HttpContext) {
    this.#ctx = ctx;
  }

  async get(caller: Caller, app: string, groupId: string): Promise<GroupRecord> {
    const group = await this.#find(app, groupId);
    if (!caller.admin && group.owner !== caller.uid && !group.members.includes(caller.uid)) {
      throw new MercurioError('forbidden', 'Permission denied');
    }
    return group;
  }

  async create(
    caller: Caller,
    app: string,
    input: {
      name: string;
      members: string[];
      groupId?: string | undefined;
      owner?: string | undefined;
      attributes?: Record<string, unknown> | undefined;
    },
  ): Promise<GroupRecord> {
    if (input.owner !== undefined && !caller.admin && input.owner !== caller.uid) {
      throw new MercurioError('forbidden', 'only an admin may create a group for another owner');
    }
    const owner = input.owner ?? caller.uid;
    // A user creating a group is in it; an admin (a service) creates it for others.
    const members = new Set(input.members);
    if (!caller.admin) members.add(caller.uid);
    this.#checkSize(members.size);
    assertMemberIds(members);
    const groupId = input.groupId ?? `${GROUP_ID_MARK}${this.#ctx.newId()}`;
    const idProblem = newGroupIdProblem(groupId);
    if (idProblem) throw new MercurioError('invalid_group_id', idProblem);
    // An admin token is the app's own back end (a help desk opens a group per request): not limited.
    if (!caller.admin) await this.#ctx.limits.take('group', app, caller.uid);
    const now = this.#ctx.now();
    const { group, created } = await this.#ctx.store.createGroupIfAbsent({
      app,
      uid: groupId,
      name: input.name,
      owner,
      members: [...members],
      attributes: input.attributes ?? null,
      volatile: false,
      createdOn: now,
      updatedOn: now,
    });
    if (!created) throw new MercurioError('group_exists', `group ${groupId} already exists`);
    // As Chat21: only the info messages, no group-updated event; members learn of the group from
    // its first message (a new conversation), as Chat21 clients do.
    const labels = await Promise.all(group.members.map((member) => this.#memberLabel(app, member)));
    await this.#ctx.bus.publish([
      this.#info(group, 'Group created', 'GROUP_CREATED', { creator: owner }),
      ...labels.map((label) =>
        this.#info(group, `${label.fullname} joined group on creation`, 'MEMBER_JOINED_GROUP', label),
      ),
    ]);
    return group;
  }

  /** Route 16: the owner or an admin adds one member, who then gets the newest history. */
  async join(caller: Caller, app: string, groupId: string, member: string): Promise<GroupRecord> {
    const group = await this.#find(app, groupId);
    this.#assertManager(caller, group);
    if (group.members.includes(member)) {
      throw new MercurioError('already_member', `${member} is already a member of ${groupId}`);
    }
    this.#checkSize(group.members.length + 1);
    assertMemberIds([member]);
    const change = await this.#change(app, groupId, [member], []);
    const after = change.group;
    const joined = await this.#memberLabel(app, member);
    await this.#ctx.bus.publish([
      this.#notify(after, after.members, label('MEMBER_JOINED_GROUP', joined)),
      ...(await this.#history(after, member)),
      this.#info(after, `${joined.firstname} added to group`, 'MEMBER_JOINED_GROUP', joined),
    ]);
    return after;
  }

  /** Route 17: the owner or an admin replaces the members; everyone before or after is told. */
  async setMembers(caller: Caller, app: string, groupId: string, members: string[]): Promise<GroupRecord> {
    const group = await this.#find(app, groupId);
    this.#assertManager(caller, group);
    const wanted = new Set(members);
    this.#checkSize(wanted.size);
    assertMemberIds(wanted);
    const add = [...wanted].filter((member) => !group.members.includes(member));
    const remove = group.members.filter((member) => !wanted.has(member));
    if (add.length === 0 && remove.length === 0) return group;
    const change = await this.#change(app, groupId, add, remove);
    const after = change.group;
    const events: Publication[] = [this.#notify(after, new Set([...group.members, ...after.members]))];
    for (const member of change.added) {
      const joined = await this.#memberLabel(app, member);
      events.push(...(await this.#history(after, member)));
      events.push(this.#info(after, `${joined.firstname} added to group`, 'MEMBER_JOINED_GROUP', joined));
    }
    for (const member of change.removed) {
      events.push(
        this.#info(after, `${member} removed from group`, 'MEMBER_LEFT_GROUP', { member_id: member }),
      );
    }
    await this.#ctx.bus.publish(events);
    return after;
  }

  /** Route 18: a member leaves, or the owner or an admin removes them. */
  async leave(caller: Caller, app: string, groupId: string, member: string): Promise<GroupRecord> {
    const group = await this.#find(app, groupId);
    if (caller.uid !== member) this.#assertManager(caller, group);
    if (!group.members.includes(member)) {
      throw new MercurioError('member_not_found', `${member} is not a member of ${groupId}`);
    }
    const after = (await this.#change(app, groupId, [], [member])).group;
    await this.#ctx.bus.publish([
      this.#notify(after, group.members, label('MEMBER_LEFT_GROUP', { member_id: member })),
      this.#info(after, `${member} removed from group`, 'MEMBER_LEFT_GROUP', { member_id: member }),
    ]);
    return after;
  }

  async rename(caller: Caller, app: string, groupId: string, name: string): Promise<GroupRecord> {
    const after = await this.#update(caller, app, groupId, { name });
    await this.#ctx.bus.publish([
      this.#notify(after, after.members, label('DATA_UPDATED_GROUP', { group_name: name })),
    ]);
    return after;
  }

  async setAttributes(
    caller: Caller,
    app: string,
    groupId: string,
    attributes: Record<string, unknown>,
  ): Promise<GroupRecord> {
    const after = await this.#update(caller, app, groupId, { attributes });
    await this.#ctx.bus.publish([
      this.#notify(after, after.members, label('ATTRIBUTES_UPDATED_GROUP', { attributes })),
    ]);
    return after;
  }

  async #update(
    caller: Caller,
    app: string,
    groupId: string,
    patch: { name?: string; attributes?: Record<string, unknown> },
  ): Promise<GroupRecord> {
    const group = await this.#find(app, groupId);
    this.#assertManager(caller, group);
    const after = await this.#ctx.store.updateGroup(app, groupId, patch, this.#ctx.now());
    if (!after) throw new MercurioError('group_not_found', `group ${groupId} does not exist`);
    return after;
  }

  async #find(app: string, groupId: string): Promise<GroupRecord> {
    const group = await this.#ctx.store.getGroup(app, groupId);
    if (!group) throw new MercurioError('group_not_found', "Group doesn't exist");
    return group;
  }

  async #change(app: string, groupId: string, add: string[], remove: string[]) {
    const change = await this.#ctx.store.changeGroupMembers(app, groupId, { add, remove }, this.#ctx.now());
    if (!change) throw new MercurioError('group_not_found', `group ${groupId} does not exist`);
    return change;
  }

  #assertManager(caller: Caller, group: GroupRecord): void {
    if (caller.admin || caller.uid === group.owner) return;
    throw new MercurioError('forbidden', `only the owner of ${group.uid} or an admin may change it`);
  }

  /**
   * MEMBER_JOINED_GROUP's parameters: Chat21 looked the member up in its contacts; here the
   * user's profile, and the id where no name is known (Chat21's "absent ⇒ fullname = user id").
   */
  async #memberLabel(app: string, member: string): Promise<MemberLabel> {
    const profile = await this.#ctx.store.getProfile(app, member);
    return {
      member_id: member,
      fullname: displayName(member, profile),
      firstname: profile?.firstname || profile?.fullname || member,
      lastname: profile?.lastname ?? '',
    };
  }

  #checkSize(size: number): void {
    const max = this.#ctx.settings.groupMaxMembers;
    if (size > max) throw new MercurioError('invalid_request', `a group has at most ${max} members`);
  }

  #notify(group: GroupRecord, to: Iterable<string>, notification?: GroupNotification): Publication {
    return {
      topic: { kind: 'groupsUpdate', app: group.app },
      payload: { group: groupView(group, notification), notify_to: membersMap(to) },
    };
  }

  /** A Chat21 info message (§3.5) from `system` to the group, through the router. */
  #info(group: GroupRecord, text: string, key: string, parameters: Record<string, unknown>): Publication {
    return {
      topic: { kind: 'outgoing', app: group.app, user: SYSTEM_SENDER, recipient: group.uid },
      payload: {
        message_id: this.#ctx.newId(),
        text,
        type: 'text',
        sender_fullname: 'System',
        recipient_fullname: group.name,
        channel_type: 'group',
        timestamp: this.#ctx.now(),
        attributes: { subtype: 'info', updateconversation: true, messagelabel: { key, parameters } },
      },
    };
  }

  /** The newest messages of the group, oldest first, replayed into the new member's inbox. */
  async #history(group: GroupRecord, member: string): Promise<Publication[]> {
    const newestFirst = await this.#ctx.store.messageHistory(group.app, conversationKey('group', group.uid), {
      viewer: member,
      limit: JOIN_HISTORY_SIZE,
    });
    return newestFirst.reverse().map((message) => {
      const copy = messageCopy(message, 150);
      const attributes = (copy.attributes ?? {}) as Record<string, unknown>;
      // Chat21: no push notification for replayed history unless the message forces one.
      if (attributes.forcenotification !== true) copy.attributes = { ...attributes, sendnotification: false };
      return {
        topic: { kind: 'historyDelivery', app: group.app, user: member, conversWith: group.uid },
        payload: copy,
      };
    });
  }
}

interface MemberLabel {
  member_id: string;
  fullname: string;
  firstname: string;
  lastname: string;
  [key: string]: unknown;
}

function label(key: string, parameters: Record<string, unknown>): GroupNotification {
  return { messagelabel: { key, parameters } };
}

/** Members are users: never a group-form id or the service sender. */
function assertMemberIds(members: Iterable<string>): void {
  for (const member of members) {
    const problem = userIdProblem(member);
    if (problem) throw new MercurioError('reserved_id', `group member id: ${problem}`);
  }
}
