import type { ConversationView, GroupPayload, MessageCopy } from '@mercurio/protocol';

/** One row of the conversation list. */
export interface Conversation {
  id: string;
  group: boolean;
  /** A group's name when known (from the group, or from a message's `recipient_fullname`). */
  name: string | undefined;
  lastText: string;
  timestamp: number;
  unread: number;
  archived: boolean;
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

/**
 * What the app knows (conversations, groups, presence, who is typing, what is open) and who to
 * tell when it changes. Views subscribe and re-render from it; only app.ts changes it from the
 * client's events.
 */
export class ChatState {
  readonly conversations = new Map<string, Conversation>();
  readonly groups = new Map<string, Group>();
  readonly presence = new Map<string, Presence>();
  /** conversWith → writer → until when they are shown as typing. */
  readonly typing = new Map<string, Map<string, number>>();
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

  upsert(id: string, patch: Partial<Conversation>): Conversation {
    const old = this.conversations.get(id) ?? {
      id,
      group: false,
      name: undefined,
      lastText: '',
      timestamp: 0,
      unread: 0,
      archived: false,
    };
    const next = { ...old, ...patch };
    this.conversations.set(id, next);
    this.changed();
    return next;
  }

  fromView(id: string, view: Partial<ConversationView>): Conversation {
    const patch: Partial<Conversation> = {};
    if (view.channel_type) patch.group = view.channel_type === 'group';
    if (typeof view.last_message_text === 'string') patch.lastText = view.last_message_text;
    if (typeof view.timestamp === 'number') patch.timestamp = view.timestamp;
    if (typeof view.unread_count === 'number') patch.unread = id === this.current ? 0 : view.unread_count;
    if (typeof view.archived === 'boolean') patch.archived = view.archived;
    if (view.channel_type === 'group' && typeof view.recipient_fullname === 'string')
      patch.name = view.recipient_fullname;
    return this.upsert(id, patch);
  }

  /** A message arrived (live, or sent from here): the list row moves to the top. */
  fromMessage(conversWith: string, message: MessageCopy, countUnread: boolean): void {
    const conv = this.conversations.get(conversWith);
    const group = message.channel_type === 'group';
    const patch: Partial<Conversation> = {
      group,
      lastText: message.text ?? '',
      timestamp: message.timestamp,
      archived: false,
      unread: countUnread ? (conv?.unread ?? 0) + 1 : (conv?.unread ?? 0),
    };
    if (group && typeof message.recipient_fullname === 'string' && !this.groups.has(conversWith))
      patch.name = message.recipient_fullname;
    this.upsert(conversWith, patch);
  }

  setGroup(payload: GroupPayload): Group {
    const group: Group = {
      id: payload.uid,
      name: payload.name ?? payload.uid,
      owner: payload.owner ?? '',
      members: Object.keys(payload.members ?? {}),
      updatedOn: payload.updatedOn ?? 0,
    };
    // A read answered after a newer change was announced: keep the newer.
    const known = this.groups.get(group.id);
    if (known && known.updatedOn > group.updatedOn) return known;
    this.groups.set(group.id, group);
    const conv = this.conversations.get(group.id);
    if (conv) this.upsert(group.id, { name: group.name, group: true });
    this.changed();
    return group;
  }

  /** The name shown for a conversation. */
  title(id: string): string {
    const conv = this.conversations.get(id);
    if (!conv?.group) return id;
    return this.groups.get(id)?.name ?? conv.name ?? id;
  }

  isMember(groupId: string): boolean {
    const group = this.groups.get(groupId);
    return !group || group.members.includes(this.user);
  }

  setPresence(user: string, presence: Presence): void {
    this.presence.set(user, presence);
    this.changed();
  }

  setTyping(conversWith: string, writer: string, typing: boolean): void {
    const writers = this.typing.get(conversWith) ?? new Map<string, number>();
    if (typing) writers.set(writer, Date.now() + TYPING_SHOWN_MS);
    else writers.delete(writer);
    this.typing.set(conversWith, writers);
    this.changed();
    // Typing that was never stopped (a closed tab) fades by itself.
    if (typing) setTimeout(() => this.changed(), TYPING_SHOWN_MS + 50);
  }

  /** Who is typing in a conversation now (never the user themself). */
  typists(conversWith: string): string[] {
    const now = Date.now();
    return [...(this.typing.get(conversWith) ?? new Map<string, number>())]
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
