import { GROUP_ID_MARK, newGroupIdProblem, SYSTEM_SENDER, userIdProblem } from '@mercurio/protocol';
import type { Publication } from '../bus/bus.js';
import { MercurioError } from '../errors.js';
import type { AbuseLimits } from '../limits/abuse-limits.js';
import type { GroupAdminStore, GroupAdminTx, GroupDecision } from '../store/group-admin-store.js';
import { displayName } from '../store/profile-store.js';
import type { PublicationEntry } from '../store/publication-queue.js';
import { conversationKey, type GroupRecord } from '../store/types.js';
import { messageCopy } from '../views.js';
import { type GroupNotification, groupView, membersMap } from './group-view.js';

/** Chat21 replays this many messages to a member who joins (the newest ones, in Mercurio). */
export const JOIN_HISTORY_SIZE = 200;

/** Who asks for a change: a user, or an admin token (the app's back end, acting for anyone). */
export interface GroupActor {
  uid: string;
  admin: boolean;
}

export interface GroupAdminDeps {
  store: GroupAdminStore;
  /** Per-user limit on groups created (admins are not limited). */
  limits: Pick<AbuseLimits, 'take'>;
  /** Publishes what was committed; called right after each commit (the relay, woken). */
  published: () => Promise<void>;
  groupMaxMembers: number;
  now: () => number;
  newId: () => string;
}

/**
 * Group administration (Chat21 routes 14–20): each change and everything it must publish — the
 * group-changed notification (`apps/observer/<app>/groups/update`, delivered by the router), Chat21's
 * info messages (§3.5, sent as `system` through the router like any group message) and a new
 * member's history — are committed in one transaction (the outbox of publications); the relay
 * publishes them after the commit, at least once. Info messages carry a message id fixed at commit,
 * so a publish repeated after a crash is stored once.
 */
export class GroupAdmin {
  readonly #deps: GroupAdminDeps;

  constructor(deps: GroupAdminDeps) {
    this.#deps = deps;
  }

  async get(actor: GroupActor, app: string, groupId: string): Promise<GroupRecord> {
    const group = await this.#deps.store.getGroup(app, groupId);
    if (!group) throw notFound();
    if (!actor.admin && group.owner !== actor.uid && !group.members.includes(actor.uid)) {
      throw new MercurioError('forbidden', 'Permission denied');
    }
    return group;
  }

  async create(
    actor: GroupActor,
    app: string,
    input: {
      name: string;
      members: string[];
      groupId?: string | undefined;
      owner?: string | undefined;
      attributes?: Record<string, unknown> | undefined;
    },
  ): Promise<GroupRecord> {
    if (input.owner !== undefined && !actor.admin && input.owner !== actor.uid) {
      throw new MercurioError('forbidden', 'only an admin may create a group for another owner');
    }
    const owner = input.owner ?? actor.uid;
    // A user creating a group is in it; an admin (a service) creates it for others.
    const members = new Set(input.members);
    if (!actor.admin) members.add(actor.uid);
    this.#checkSize(members.size);
    assertMemberIds(members);
    const groupId = input.groupId ?? `${GROUP_ID_MARK}${this.#deps.newId()}`;
    const idProblem = newGroupIdProblem(groupId);
    if (idProblem) throw new MercurioError('invalid_group_id', idProblem);
    // An admin token is the app's own back end (a help desk opens a group per request): not limited.
    if (!actor.admin) await this.#deps.limits.take('group', app, actor.uid);
    const now = this.#deps.now();
    return this.#commit(now, async (tx) => {
      const { group, created } = await tx.createGroupIfAbsent({
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
      const labels = await Promise.all(group.members.map((member) => memberLabel(tx, app, member)));
      return decided(group, [
        this.#info(group, 'Group created', 'GROUP_CREATED', { creator: owner }),
        ...labels.map((label) =>
          this.#info(group, `${label.fullname} joined group on creation`, 'MEMBER_JOINED_GROUP', label),
        ),
      ]);
    });
  }

  /** Route 16: the owner or an admin adds one member, who then gets the newest history. */
  async join(actor: GroupActor, app: string, groupId: string, member: string): Promise<GroupRecord> {
    return this.#commit(this.#deps.now(), async (tx) => {
      const group = await this.#find(tx, app, groupId);
      assertManager(actor, group);
      if (group.members.includes(member)) {
        throw new MercurioError('already_member', `${member} is already a member of ${groupId}`);
      }
      this.#checkSize(group.members.length + 1);
      assertMemberIds([member]);
      const after = (await this.#change(tx, app, groupId, [member], [])).group;
      const joined = await memberLabel(tx, app, member);
      return decided(after, [
        this.#notify(after, after.members, label('MEMBER_JOINED_GROUP', joined)),
        ...(await history(tx, after, member)),
        this.#info(after, `${joined.firstname} added to group`, 'MEMBER_JOINED_GROUP', joined),
      ]);
    });
  }

  /** Route 17: the owner or an admin replaces the members; everyone before or after is told. */
  async setMembers(actor: GroupActor, app: string, groupId: string, members: string[]): Promise<GroupRecord> {
    const wanted = new Set(members);
    return this.#commit(this.#deps.now(), async (tx) => {
      const group = await this.#find(tx, app, groupId);
      assertManager(actor, group);
      this.#checkSize(wanted.size);
      assertMemberIds(wanted);
      const add = [...wanted].filter((member) => !group.members.includes(member));
      const remove = group.members.filter((member) => !wanted.has(member));
      if (add.length === 0 && remove.length === 0) return decided(group, []);
      const change = await this.#change(tx, app, groupId, add, remove);
      const after = change.group;
      const events: Publication[] = [this.#notify(after, new Set([...group.members, ...after.members]))];
      for (const member of change.added) {
        const joined = await memberLabel(tx, app, member);
        events.push(...(await history(tx, after, member)));
        events.push(this.#info(after, `${joined.firstname} added to group`, 'MEMBER_JOINED_GROUP', joined));
      }
      for (const member of change.removed) {
        events.push(
          this.#info(after, `${member} removed from group`, 'MEMBER_LEFT_GROUP', { member_id: member }),
        );
      }
      return decided(after, events);
    });
  }

  /** Route 18: a member leaves, or the owner or an admin removes them. */
  async leave(actor: GroupActor, app: string, groupId: string, member: string): Promise<GroupRecord> {
    return this.#commit(this.#deps.now(), async (tx) => {
      const group = await this.#find(tx, app, groupId);
      if (actor.uid !== member) assertManager(actor, group);
      if (!group.members.includes(member)) {
        throw new MercurioError('member_not_found', `${member} is not a member of ${groupId}`);
      }
      const after = (await this.#change(tx, app, groupId, [], [member])).group;
      return decided(after, [
        this.#notify(after, group.members, label('MEMBER_LEFT_GROUP', { member_id: member })),
        this.#info(after, `${member} removed from group`, 'MEMBER_LEFT_GROUP', { member_id: member }),
      ]);
    });
  }

  rename(actor: GroupActor, app: string, groupId: string, name: string): Promise<GroupRecord> {
    return this.#update(actor, app, groupId, { name }, label('DATA_UPDATED_GROUP', { group_name: name }));
  }

  setAttributes(
    actor: GroupActor,
    app: string,
    groupId: string,
    attributes: Record<string, unknown>,
  ): Promise<GroupRecord> {
    return this.#update(
      actor,
      app,
      groupId,
      { attributes },
      label('ATTRIBUTES_UPDATED_GROUP', { attributes }),
    );
  }

  #update(
    actor: GroupActor,
    app: string,
    groupId: string,
    patch: { name?: string; attributes?: Record<string, unknown> },
    notification: GroupNotification,
  ): Promise<GroupRecord> {
    const now = this.#deps.now();
    return this.#commit(now, async (tx) => {
      assertManager(actor, await this.#find(tx, app, groupId));
      const after = await tx.updateGroup(app, groupId, patch, now);
      if (!after) throw new MercurioError('group_not_found', `group ${groupId} does not exist`);
      return decided(after, [this.#notify(after, after.members, notification)]);
    });
  }

  /** One transaction for the change and its publications; then the relay publishes them. */
  async #commit(
    at: number,
    decide: (tx: GroupAdminTx) => Promise<GroupDecision<GroupRecord>>,
  ): Promise<GroupRecord> {
    let queued = false;
    const group = await this.#deps.store.commitGroupChange(at, async (tx) => {
      const decision = await decide(tx);
      queued = decision.publish.length > 0;
      return decision;
    });
    // Committed: the notifications are safe in the outbox. Publishing now keeps them ahead of what
    // the caller does next (Chat21 clients see the info messages before the group's next message);
    // if the broker is down, the relay retries and the caller still hears of a change that was made.
    if (queued) await this.#deps.published();
    return group;
  }

  async #find(tx: GroupAdminTx, app: string, groupId: string): Promise<GroupRecord> {
    const group = await tx.getGroup(app, groupId);
    if (!group) throw notFound();
    return group;
  }

  async #change(tx: GroupAdminTx, app: string, groupId: string, add: string[], remove: string[]) {
    const change = await tx.changeGroupMembers(app, groupId, { add, remove }, this.#deps.now());
    if (!change) throw new MercurioError('group_not_found', `group ${groupId} does not exist`);
    return change;
  }

  #checkSize(size: number): void {
    const max = this.#deps.groupMaxMembers;
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
        message_id: this.#deps.newId(),
        text,
        type: 'text',
        sender_fullname: 'System',
        recipient_fullname: group.name,
        channel_type: 'group',
        timestamp: this.#deps.now(),
        attributes: { subtype: 'info', updateconversation: true, messagelabel: { key, parameters } },
      },
    };
  }
}

interface MemberLabel {
  member_id: string;
  fullname: string;
  firstname: string;
  lastname: string;
  [key: string]: unknown;
}

/** The change's result and its publications, one outbox entry ordered by the group. */
function decided(group: GroupRecord, publications: Publication[]): GroupDecision<GroupRecord> {
  const entry: PublicationEntry = {
    app: group.app,
    orderingKey: conversationKey('group', group.uid),
    publications,
  };
  return { result: group, publish: publications.length > 0 ? [entry] : [] };
}

/**
 * MEMBER_JOINED_GROUP's parameters: Chat21 looked the member up in its contacts; here the
 * user's profile, and the id where no name is known (Chat21's "absent ⇒ fullname = user id").
 */
async function memberLabel(tx: GroupAdminTx, app: string, member: string): Promise<MemberLabel> {
  const profile = await tx.getProfile(app, member);
  return {
    member_id: member,
    fullname: displayName(member, profile),
    firstname: profile?.firstname || profile?.fullname || member,
    lastname: profile?.lastname ?? '',
  };
}

/** The newest messages of the group, oldest first, replayed into the new member's inbox. */
async function history(tx: GroupAdminTx, group: GroupRecord, member: string): Promise<Publication[]> {
  const newestFirst = await tx.messageHistory(group.app, conversationKey('group', group.uid), {
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

function assertManager(actor: GroupActor, group: GroupRecord): void {
  if (actor.admin || actor.uid === group.owner) return;
  throw new MercurioError('forbidden', `only the owner of ${group.uid} or an admin may change it`);
}

function notFound(): MercurioError {
  return new MercurioError('group_not_found', "Group doesn't exist");
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
