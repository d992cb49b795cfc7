import { h, timeOf } from './dom.js';
import { type ChatState, type Conversation, type ConversationRef, typingLabel } from './state.js';

/** A presence dot: green online, grey offline; nothing for groups or users not known yet. */
export function presenceDot(state: ChatState, user: string): HTMLElement | string {
  const presence = state.presence.get(user);
  if (!presence) return '';
  const status = presence.online ? 'online' : 'offline';
  return h('span', { class: `dot ${status}`, 'data-presence': status, title: status });
}

/**
 * The conversation list (newest first: avatar with presence dot, name, last message or who is
 * typing, time, unread badge) and the toggle between it and the archived conversations.
 */
export class ConversationList {
  readonly element = h('ul', { class: 'conversations', id: 'conversations' });
  readonly toggle = h(
    'button',
    { class: 'link archived-toggle', id: 'show-archived', type: 'button', 'aria-pressed': 'false' },
    'Archived',
  );
  readonly heading = h('p', { class: 'list-heading', id: 'list-heading' }, 'Chats');

  constructor(
    readonly state: ChatState,
    readonly open: (ref: ConversationRef) => void,
    readonly loadArchived: () => Promise<void>,
  ) {
    this.toggle.addEventListener('click', () => {
      state.showArchived = !state.showArchived;
      if (state.showArchived) void this.loadArchived();
      state.changed();
    });
    state.subscribe(() => this.render());
  }

  render(): void {
    const { state } = this;
    this.toggle.textContent = state.showArchived ? '‹ Chats' : 'Archived';
    this.toggle.setAttribute('aria-pressed', String(state.showArchived));
    this.heading.textContent = state.showArchived ? 'Archived' : 'Chats';
    const rows = state.visible().map((conv) => this.row(conv));
    if (rows.length === 0) {
      rows.push(
        h(
          'li',
          { class: 'empty muted' },
          state.showArchived ? 'No archived conversations' : 'No conversations yet: start one above',
        ),
      );
    }
    this.element.replaceChildren(...rows);
  }

  row(conv: Conversation): HTMLElement {
    const { state } = this;
    const title = state.title(conv);
    const typists = state.typists(conv);
    const item = h(
      'li',
      {
        class: `conversation${conv.key === state.current ? ' active' : ''}`,
        'data-id': conv.id,
        'data-kind': conv.group ? 'group' : 'direct',
        tabindex: '0',
      },
      h(
        'span',
        { class: `avatar${conv.group ? ' group' : ''}` },
        (title[0] ?? '?').toUpperCase(),
        conv.group ? '' : presenceDot(state, conv.id),
      ),
      h(
        'span',
        { class: 'summary' },
        h('span', { class: 'name' }, conv.group ? `# ${title}` : title),
        typists.length > 0
          ? h('span', { class: 'last typing' }, typingLabel(typists))
          : h('span', { class: 'last' }, conv.lastText),
      ),
      h(
        'span',
        { class: 'meta' },
        h('time', {}, conv.timestamp ? timeOf(conv.timestamp) : ''),
        conv.mentioned && conv.unread > 0
          ? h(
              'span',
              { class: 'badge mention-badge', title: 'You were mentioned', 'aria-label': 'mentioned' },
              '@',
            )
          : '',
        conv.unread > 0 ? h('span', { class: 'badge' }, String(conv.unread)) : '',
      ),
    );
    const ref = { id: conv.id, group: conv.group };
    item.addEventListener('click', () => this.open(ref));
    item.addEventListener('keydown', (e) => {
      if (e.key === 'Enter') this.open(ref);
    });
    return item;
  }
}
