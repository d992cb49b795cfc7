import type { MercurioClient } from '@mercurio/sdk';
import { type ChatState, refOf } from './state.js';
import type { ThreadView } from './thread.js';

/**
 * The client's events into the state and the open thread; shared by the full app and the widget.
 * Also fetches, in batches, what the events do not carry: presence of direct peers and group
 * details (name, members).
 */
export class Wiring {
  readonly #wantPresence = new Set<string>();
  readonly #wantGroups = new Set<string>();
  #scheduled = false;

  constructor(
    readonly client: MercurioClient,
    readonly state: ChatState,
    readonly thread: ThreadView,
  ) {
    const { user } = state;
    client.on('message', ({ conversWith, kind, message }) => {
      // The message's own kind picks the conversation: a group message on a direct
      // conversation's id goes to the group of that id, never into the direct thread.
      const ref = refOf(kind, conversWith);
      const here = thread.isCurrent(ref);
      state.fromMessage(ref, message, !(here && thread.seen()) && message.sender !== user);
      this.need(ref.id, ref.group);
      if (here) thread.onMessage(message);
      // A sender who just sent is no longer typing.
      if (message.sender !== user) state.setTyping(ref, message.sender, false);
    });
    client.on('messageUpdated', (update) => {
      // Message ids are unique: a status update finds its row whatever the conversation's kind.
      if (update.status !== undefined && update.conversWith === thread.current?.id)
        thread.setStatus(update.message_id, update.status);
    });
    // An edit, a delete or reactions: the open thread draws the message again (the conversation
    // list hears of a changed last message from the server's conversation update).
    client.on('messageChanged', (event) => thread.onChanged(event));
    client.on('conversationAdded', ({ conversWith, conversation }) => {
      const conv = state.fromView(conversWith, conversation);
      this.need(conv.id, conv.group);
    });
    client.on('conversationUpdated', (view) => state.fromView(view.conversWith, view));
    client.on('conversationArchived', ({ conversWith, conversation }) =>
      state.fromView(conversWith, { ...conversation, archived: true }),
    );
    client.on('conversationUnarchived', ({ conversWith, conversation }) =>
      state.fromView(conversWith, { ...conversation, archived: false }),
    );
    client.on('groupUpdated', ({ group }) => {
      state.setGroup(group);
      if (!state.isMember(group.uid) && thread.isCurrent({ id: group.uid, group: true }))
        thread.renderHeader();
    });
    client.on('presence', (event) =>
      state.setPresence(event.user_id, {
        online: event.status === 'online',
        lastOnline: event.status === 'online' ? null : (event.last_online ?? event.timestamp),
      }),
    );
    client.on('typing', (event) => {
      // Typing says no kind: in a direct conversation the writer is the peer, in a group not.
      const ref = { id: event.conversWith, group: event.writer_id !== event.conversWith };
      if (event.writer_id !== user) state.setTyping(ref, event.writer_id, event.typing);
    });
    client.on('error', (error) => {
      // A refused message (its own id); an edit, delete or reaction refused is answered where it
      // was made (the action's promise), not here.
      if (error.message_id && !isMessageAction(error.topic)) thread.composer.refused(error.message_id);
    });
  }

  /** Presence of a direct peer, or the details of a group, when not known yet. */
  need(id: string, group: boolean): void {
    if (group ? this.state.groups.has(id) : this.state.presence.has(id)) return;
    (group ? this.#wantGroups : this.#wantPresence).add(id);
    if (this.#scheduled) return;
    this.#scheduled = true;
    queueMicrotask(() => {
      this.#scheduled = false;
      void this.#fetch();
    });
  }

  async #fetch(): Promise<void> {
    const users = [...this.#wantPresence];
    const groups = [...this.#wantGroups];
    this.#wantPresence.clear();
    this.#wantGroups.clear();
    const { client, state } = this;
    for (let i = 0; i < users.length; i += 200) {
      const found = await client.presence(users.slice(i, i + 200)).catch(() => []);
      for (const p of found) {
        // An event may have come first: it is newer than this answer.
        if (!state.presence.has(p.user_id))
          state.setPresence(p.user_id, { online: p.status === 'online', lastOnline: p.last_online });
      }
    }
    await Promise.all(
      groups.map((id) =>
        client.group(id).then(
          (group) => state.setGroup(group),
          () => undefined, // a group left: not readable any more
        ),
      ),
    );
  }
}

/** Whether a refused topic was an edit, delete or reaction (`…/messages/<cw>/<id>/<action>`). */
function isMessageAction(topic: string | undefined): boolean {
  return topic !== undefined && /\/(edit|delete|react)$/.test(topic);
}
