import {
  type ConversationKind,
  type ConversationView,
  conversationKindOf,
  type GroupPayload,
  type MessageCopy,
} from '@mercurio/protocol';

/**
 * A conversation is named by its kind and id together: a direct conversation with user `x` and
 * a group whose id is `x` are two conversations, and nothing that arrives turns one into the
 * other (a group's message on the same id would otherwise capture the direct thread, and the
 * user's next message would go to the group).
 */
export interface ConversationRef {
  id: string;
  group: boolean;
}

/** The map key of a conversation: its kind and id. */
export function keyOf(ref: ConversationRef): string {
  return `${ref.group ? 'group' : 'direct'}:${ref.id}`;
}

export function refOf(kind: ConversationKind, id: string): ConversationRef {
  return { id, group: kind === 'group' };
}

/** The conversation a message belongs to, from its own kind (or Chat21's id rule). */
export function refOfMessage(
  conversWith: string,
  message: Pick<MessageCopy, 'channel_type'>,
): ConversationRef {
  return refOf(conversationKindOf(message.channel_type, conversWith), conversWith);
}

/** One row of the conversation list. */
export interface Conversation extends ConversationRef {
  /** keyOf(this): the kind and id; never changes. */
  key: string;
  /** A group's name when known (from the group, or from a message's `recipient_fullname`). */
  name: string | undefined;
  lastText: string;
  timestamp: number;
  unread: number;
  archived: boolean;
  /** A message mentioned the user since they last read the conversation. */
  mentioned: boolean;
}

export interface Group {
  id: string;
  name: string;
  owner: string;
  members: string[];
  updatedOn: number;
}

export interface Presence {
  online: boolean;
  lastOnline: number | null;
}

const TYPING_SHOWN_MS = 6000;

export const DELETED_TEXT = 'This message was deleted';

/**
 * What the app knows (conversations, groups, presence, who is typing, what is open) and who to
 * tell when it changes. Views subscribe and re-render from it; only app.ts changes it from the
 * client's events.
 */
export class ChatState {
  /** keyOf(conversation) → conversation. */
  readonly conversations = new Map<string, Conversation>();
  readonly groups = new Map<string, Group>();
  readonly presence = new Map<string, Presence>();
  /** Conversation key → writer → until when they are shown as typing. */
  readonly typing = new Map<string, Map<string, number>>();
  /** The open conversation's key. */
  current: string | undefined;
  showArchived = false;
  readonly #listeners = new Set<() => void>();
  #scheduled = false;

  constructor(readonly user: string) {}

  subscribe(listener: () => void): () => void {
    this.#listeners.add(listener);
    return () => this.#listeners.delete(listener);
  }

  /** Listeners run once per task, however many changes it made. */
  changed(): void {
    if (this.#scheduled) return;
    this.#scheduled = true;
    queueMicrotask(() => {
      this.#scheduled = false;
      for (const listener of [...this.#listeners]) listener();
    });
  }

  /** The conversation (kind and id) a row of the list is, with changes; kind and id never change. */
  upsert(ref: ConversationRef, patch: Partial<Omit<Conversation, 'id' | 'group' | 'key'>>): Conversation {
    const key = keyOf(ref);
    const old = this.conversations.get(key) ?? {
      key,
      id: ref.id,
      group: ref.group,
      name: undefined,
      lastText: '',
      timestamp: 0,
      unread: 0,
      archived: false,
      mentioned: false,
    };
    const next = { ...old, ...patch, key, id: ref.id, group: ref.group };
    this.conversations.set(key, next);
    this.changed();
    return next;
  }

  /**
   * The conversation a server view or event names: its `channel_type` when it says one; else the
   * one conversation known with that id (an update of unread counts says no kind); else Chat21's
   * id rule.
   */
  refFor(id: string, channelType: unknown): ConversationRef {
    if (channelType === 'group' || channelType === 'direct') return refOf(channelType, id);
    const direct = this.conversations.has(keyOf({ id, group: false }));
    const group = this.conversations.has(keyOf({ id, group: true }));
    if (direct !== group) return { id, group };
    return refOf(conversationKindOf(undefined, id), id);
  }

  fromView(id: string, view: Partial<ConversationView>): Conversation {
    const ref = this.refFor(id, view.channel_type);
    const patch: Partial<Conversation> = {};
    if (typeof view.last_message_text === 'string')
      // A full view spreads its last message: a tombstone says so instead of an empty line.
      patch.lastText = typeof view.deleted_at === 'number' ? DELETED_TEXT : view.last_message_text;
    if (typeof view.mentioned === 'boolean')
      patch.mentioned = keyOf(ref) === this.current ? false : view.mentioned;
    if (typeof view.timestamp === 'number') patch.timestamp = view.timestamp;
    if (typeof view.unread_count === 'number')
      patch.unread = keyOf(ref) === this.current ? 0 : view.unread_count;
    if (typeof view.archived === 'boolean') patch.archived = view.archived;
    if (ref.group && typeof view.recipient_fullname === 'string') patch.name = view.recipient_fullname;
    return this.upsert(ref, patch);
  }

  /** A message arrived (live, or sent from here) in `ref`: its list row moves to the top. */
  fromMessage(ref: ConversationRef, message: MessageCopy, countUnread: boolean): void {
    const conv = this.conversations.get(keyOf(ref));
    const patch: Partial<Conversation> = {
      lastText: message.text ?? '',
      timestamp: message.timestamp,
      archived: false,
      unread: countUnread ? (conv?.unread ?? 0) + 1 : (conv?.unread ?? 0),
      mentioned: (countUnread && message.mentioned === true) || (conv?.mentioned ?? false),
    };
    if (ref.group && typeof message.recipient_fullname === 'string' && !this.groups.has(ref.id))
      patch.name = message.recipient_fullname;
    this.upsert(ref, patch);
  }

  setGroup(payload: GroupPayload): Group {
    const group: Group = {
      id: payload.uid,
      name: payload.name ?? payload.uid,
      owner: payload.owner ?? '',
      // Shown in one order whatever order the server's events listed them in.
      members: Object.keys(payload.members ?? {}).sort(),
      updatedOn: payload.updatedOn ?? 0,
    };
    // A read answered after a newer change was announced: keep the newer.
    const known = this.groups.get(group.id);
    if (known && known.updatedOn > group.updatedOn) return known;
    this.groups.set(group.id, group);
    const ref = { id: group.id, group: true };
    if (this.conversations.has(keyOf(ref))) this.upsert(ref, { name: group.name });
    this.changed();
    return group;
  }

  /** The name shown for a conversation: a user's id, a group's name. */
  title(ref: ConversationRef): string {
    if (!ref.group) return ref.id;
    return this.groups.get(ref.id)?.name ?? this.conversations.get(keyOf(ref))?.name ?? ref.id;
  }

  isMember(groupId: string): boolean {
    const group = this.groups.get(groupId);
    return !group || group.members.includes(this.user);
  }

  setPresence(user: string, presence: Presence): void {
    this.presence.set(user, presence);
    this.changed();
  }

  setTyping(ref: ConversationRef, writer: string, typing: boolean): void {
    const key = keyOf(ref);
    const writers = this.typing.get(key) ?? new Map<string, number>();
    if (typing) writers.set(writer, Date.now() + TYPING_SHOWN_MS);
    else writers.delete(writer);
    this.typing.set(key, writers);
    this.changed();
    // Typing that was never stopped (a closed tab) fades by itself.
    if (typing) setTimeout(() => this.changed(), TYPING_SHOWN_MS + 50);
  }

  /** Who is typing in a conversation now (never the user themself). */
  typists(ref: ConversationRef): string[] {
    const now = Date.now();
    return [...(this.typing.get(keyOf(ref)) ?? new Map<string, number>())]
      .filter(([writer, until]) => until > now && writer !== this.user)
      .map(([writer]) => writer);
  }

  /** The list as shown: archived ones or the others, newest first. */
  visible(): Conversation[] {
    return [...this.conversations.values()]
      .filter((conv) => conv.archived === this.showArchived)
      .sort((a, b) => b.timestamp - a.timestamp);
  }
}

export function membersLabel(count: number): string {
  return `${count} member${count === 1 ? '' : 's'}`;
}

export function typingLabel(typists: string[]): string {
  if (typists.length === 0) return '';
  if (typists.length === 1) return `${typists[0]} is typing…`;
  if (typists.length === 2) return `${typists[0]} and ${typists[1]} are typing…`;
  return `${typists.length} people are typing…`;
}
