import { conversationKindOf, type MercurioClient, type SearchHit } from '@mercurio/sdk';
import type { AttachmentFiles } from './attachment-files.js';
import { h } from './dom.js';
import { GroupPanel, NewGroupDialog } from './groups.js';
import { ConversationList } from './list.js';
import { SearchView } from './search.js';
import { ChatState, type ConversationRef, keyOf, refOf } from './state.js';
import { ThreadView } from './thread.js';
import { Wiring } from './wire.js';

/**
 * The full chat app: sidebar (who and how connected, search, new chat or group, the conversation
 * list or the archived ones) and the open thread; on a phone one of the two at a time.
 */
export class ChatApp {
  readonly state: ChatState;
  readonly shell = h('div', { class: 'shell' });
  readonly connection = h('span', { class: 'state', id: 'state' }, 'connected');
  readonly thread: ThreadView;
  readonly list: ConversationList;
  readonly search: SearchView;
  readonly newGroup: NewGroupDialog;
  readonly groupPanel: GroupPanel;
  readonly wiring: Wiring;

  constructor(
    readonly client: MercurioClient,
    readonly files: AttachmentFiles,
    readonly signOut: () => Promise<void>,
  ) {
    const state = new ChatState(client.userId);
    this.state = state;
    this.thread = new ThreadView(
      client,
      state,
      {
        back: () => this.back(),
        groupInfo: (id) => void this.groupPanel.open(id),
        archive: (ref, archived) => void this.archive(ref, archived),
      },
      { back: true, files },
    );
    this.list = new ConversationList(
      state,
      (ref) => void this.open(ref),
      () => this.loadConversations(true),
    );
    this.search = new SearchView(client, state, (hit) => void this.openHit(hit));
    this.newGroup = new NewGroupDialog(client, state, (id) => void this.open({ id, group: true }));
    this.groupPanel = new GroupPanel(client, state);
    this.wiring = new Wiring(client, state, this.thread);
  }

  mount(root: HTMLElement): void {
    const { client, state } = this;
    const newChat = h('input', {
      id: 'new-chat',
      placeholder: 'Start a chat with… (user id)',
      maxlength: '64',
      autocomplete: 'off',
    });
    const newChatForm = h('form', { class: 'new-chat' }, newChat);
    newChatForm.addEventListener('submit', (event) => {
      event.preventDefault();
      const id = newChat.value.trim();
      if (!id || id === state.user) return;
      newChat.value = '';
      // "Start a chat with" a user: always a direct conversation.
      const ref = { id, group: false };
      if (!state.conversations.has(keyOf(ref))) state.upsert(ref, { timestamp: Date.now() });
      void this.open(ref);
    });
    const groupButton = h('button', { class: 'link', id: 'new-group', type: 'button' }, 'New group');
    groupButton.addEventListener('click', () => this.newGroup.open());
    const signOut = h('button', { class: 'link', id: 'sign-out', type: 'button' }, 'Sign out');
    signOut.addEventListener('click', () => void this.signOut());

    this.shell.replaceChildren(
      h(
        'aside',
        { class: 'sidebar' },
        h(
          'header',
          { class: 'bar' },
          h('span', { class: 'avatar small me-avatar' }, (state.user[0] ?? '?').toUpperCase()),
          h('span', { class: 'who' }, h('span', { class: 'me', id: 'me' }, state.user), this.connection),
          signOut,
        ),
        this.search.form,
        this.search.results,
        h('div', { class: 'new-row' }, newChatForm, groupButton),
        h('div', { class: 'list-bar' }, this.list.heading, this.list.toggle),
        this.list.element,
      ),
      this.thread.element,
      this.newGroup.element,
      this.groupPanel.element,
    );
    root.replaceChildren(this.shell);
    this.list.render();

    client.on('state', ({ new: now }) => {
      this.connection.textContent = now;
      this.connection.dataset.state = now;
    });
    // After every reconnect the list is read again (unread counts changed while away).
    client.on('uptodate', () => void this.loadConversations(state.showArchived));
    document.addEventListener('visibilitychange', () => {
      if (document.visibilityState === 'visible' && this.thread.current) this.thread.markRead();
    });
    void this.loadConversations(false);
  }

  async loadConversations(archived: boolean): Promise<void> {
    const page = await this.client.conversations({ archived, limit: 100 });
    for (const view of page.conversations) {
      const conv = this.state.fromView(view.conversWith, { ...view, archived });
      this.wiring.need(conv.id, conv.group);
    }
  }

  async open(ref: ConversationRef, focus?: { messageId: string; seq: number }): Promise<void> {
    const { state } = this;
    state.current = keyOf(ref);
    state.upsert(ref, { unread: 0 });
    this.shell.classList.add('show-thread');
    this.search.hide();
    this.wiring.need(ref.id, ref.group);
    await this.thread.show(ref, focus);
  }

  /** A search hit opens the conversation of the message's own kind. */
  openHit(hit: SearchHit): Promise<void> {
    const ref = refOf(conversationKindOf(hit.message.channel_type, hit.conversWith), hit.conversWith);
    return this.open(ref, { messageId: hit.message.message_id, seq: hit.message.seq });
  }

  back(): void {
    this.shell.classList.remove('show-thread');
    this.state.current = undefined;
    this.thread.hide();
    this.state.changed();
  }

  async archive(ref: ConversationRef, archived: boolean): Promise<void> {
    this.state.upsert(ref, { archived });
    await (archived ? this.client.archive(ref.id) : this.client.unarchive(ref.id));
  }
}
