import type { ConversationView, MessageCopy } from '@mercurio/protocol';
import { connect, type MercurioClient } from '@mercurio/sdk';
import { h, highlight, markOf, timeOf } from './dom.js';

/**
 * The Mercurio chat app. Every piece of user data (names, texts, snippets) reaches the page through
 * `textContent` (see dom.ts), never as HTML.
 *
 * Where the server is: same origin by default (`/api`, `/ws`); `?api=…&ws=…&app=…` override it.
 */
const params = new URLSearchParams(location.search);
const API = params.get('api') ?? `${location.origin}/api`;
const WS = params.get('ws') ?? `${location.protocol === 'https:' ? 'wss' : 'ws'}://${location.host}/ws`;
const APP = params.get('app') ?? 'tilechat';
const USER_KEY = `mercurio:${APP}:user`;

interface Conversation {
  id: string;
  group: boolean;
  lastText: string;
  timestamp: number;
  unread: number;
}

const root = document.getElementById('app')!;

async function devLogin(user: string): Promise<string> {
  const response = await fetch(`${API}/v1/apps/${encodeURIComponent(APP)}/dev/login`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ user_id: user }),
  });
  const json = (await response.json().catch(() => ({}))) as { result?: { token?: string }; message?: string };
  if (!response.ok || !json.result?.token)
    throw new Error(json.message ?? `sign in failed (${response.status})`);
  return json.result.token;
}

function showLogin(error?: string): void {
  const input = h('input', {
    id: 'login-user',
    placeholder: 'your user name, e.g. alice',
    autocomplete: 'username',
    required: 'true',
    maxlength: '64',
  });
  const status = h('p', { class: 'login-error', role: 'alert' }, error ?? '');
  const form = h(
    'form',
    { class: 'login-card', id: 'login-form' },
    h('h1', {}, 'Mercurio'),
    h('p', { class: 'muted' }, `Development sign-in to app “${APP}”: pick any user name.`),
    input,
    h('button', { type: 'submit', class: 'primary' }, 'Sign in'),
    status,
  );
  form.addEventListener('submit', (event) => {
    event.preventDefault();
    const user = input.value.trim();
    if (user) void signIn(user).catch((e: unknown) => showLogin(String((e as Error).message ?? e)));
  });
  root.replaceChildren(h('main', { class: 'login' }, form));
  input.focus();
}

async function signIn(user: string): Promise<void> {
  const token = await devLogin(user);
  const client = await connect({
    endpoint: WS,
    apiEndpoint: API,
    appId: APP,
    token,
    tokenRefresh: () => devLogin(user),
  });
  localStorage.setItem(USER_KEY, user);
  new ChatApp(client, user).start();
}

class ChatApp {
  readonly conversations = new Map<string, Conversation>();
  /** The open thread's message rows by message_id. */
  readonly rows = new Map<string, HTMLElement>();
  current: string | undefined;

  readonly list = h('ul', { class: 'conversations', id: 'conversations' });
  readonly thread = h('div', { class: 'messages', id: 'messages' });
  readonly title = h('h2', { id: 'thread-title' }, '');
  readonly composer = h('input', {
    id: 'composer',
    placeholder: 'Write a message… (Enter to send)',
    autocomplete: 'off',
    maxlength: '4000',
  });
  readonly search = h('input', {
    id: 'search',
    type: 'search',
    placeholder: 'Search messages',
    maxlength: '200',
  });
  readonly results = h('ul', { class: 'results', id: 'search-results', hidden: 'true' });
  readonly state = h('span', { class: 'state', id: 'state' }, 'connected');
  readonly shell = h('div', { class: 'shell' });

  constructor(
    readonly client: MercurioClient,
    readonly user: string,
  ) {}

  start(): void {
    const newChat = h('input', {
      id: 'new-chat',
      placeholder: 'Start a chat with… (user id)',
      maxlength: '64',
    });
    const newChatForm = h('form', { class: 'new-chat' }, newChat);
    newChatForm.addEventListener('submit', (event) => {
      event.preventDefault();
      const id = newChat.value.trim();
      if (!id) return;
      newChat.value = '';
      this.upsert(id, {});
      void this.open(id);
    });
    const signOut = h('button', { class: 'link', id: 'sign-out', type: 'button' }, 'Sign out');
    signOut.addEventListener('click', () => {
      localStorage.removeItem(USER_KEY);
      void this.client.close().finally(() => showLogin());
    });
    const back = h('button', { class: 'back', type: 'button', 'aria-label': 'Back' }, '‹');
    back.addEventListener('click', () => {
      this.shell.classList.remove('show-thread');
      this.current = undefined;
      this.renderList();
    });
    const composerForm = h(
      'form',
      { class: 'composer' },
      this.composer,
      h('button', { class: 'primary', type: 'submit' }, 'Send'),
    );
    composerForm.addEventListener('submit', (event) => {
      event.preventDefault();
      this.send();
    });
    const searchForm = h('form', { class: 'search', role: 'search' }, this.search);
    searchForm.addEventListener('submit', (event) => {
      event.preventDefault();
      void this.runSearch(this.search.value.trim());
    });
    this.search.addEventListener('input', () => {
      if (!this.search.value.trim()) this.results.hidden = true;
    });

    this.shell.replaceChildren(
      h(
        'aside',
        { class: 'sidebar' },
        h('header', { class: 'bar' }, h('span', { class: 'me', id: 'me' }, this.user), this.state, signOut),
        searchForm,
        this.results,
        newChatForm,
        this.list,
      ),
      h(
        'section',
        { class: 'thread' },
        h('header', { class: 'bar' }, back, this.title),
        this.thread,
        composerForm,
      ),
    );
    this.title.textContent = 'Pick a conversation';
    composerForm.hidden = true;
    this.composerForm = composerForm;
    root.replaceChildren(this.shell);

    const c = this.client;
    c.on('state', ({ new: now }) => {
      this.state.textContent = now;
      this.state.dataset.state = now;
    });
    c.on('message', ({ conversWith, message }) => this.onMessage(conversWith, message));
    c.on('messageUpdated', (update) => {
      if (update.status !== undefined) this.setStatus(update.message_id, update.status);
    });
    c.on('conversationAdded', ({ conversWith, conversation }) => this.fromView(conversWith, conversation));
    c.on('conversationUpdated', (view) => this.fromView(view.conversWith, view));
    void this.loadConversations();
  }

  composerForm: HTMLFormElement | undefined;

  async loadConversations(): Promise<void> {
    const page = await this.client.conversations({ limit: 100 });
    for (const view of page.conversations) this.fromView(view.conversWith, view);
  }

  fromView(id: string, view: Partial<ConversationView>): void {
    const patch: Partial<Conversation> = {};
    if (view.channel_type) patch.group = view.channel_type === 'group';
    if (typeof view.last_message_text === 'string') patch.lastText = view.last_message_text;
    if (typeof view.timestamp === 'number') patch.timestamp = view.timestamp;
    if (typeof view.unread_count === 'number') patch.unread = id === this.current ? 0 : view.unread_count;
    this.upsert(id, patch);
  }

  upsert(id: string, patch: Partial<Conversation>): Conversation {
    const old = this.conversations.get(id) ?? { id, group: false, lastText: '', timestamp: 0, unread: 0 };
    const next = { ...old, ...patch };
    this.conversations.set(id, next);
    this.renderList();
    return next;
  }

  renderList(): void {
    const sorted = [...this.conversations.values()].sort((a, b) => b.timestamp - a.timestamp);
    this.list.replaceChildren(
      ...sorted.map((conv) => {
        const item = h(
          'li',
          {
            class: `conversation${conv.id === this.current ? ' active' : ''}`,
            'data-id': conv.id,
            tabindex: '0',
          },
          h('span', { class: `avatar${conv.group ? ' group' : ''}` }, (conv.id[0] ?? '?').toUpperCase()),
          h(
            'span',
            { class: 'summary' },
            h('span', { class: 'name' }, conv.group ? `# ${conv.id}` : conv.id),
            h('span', { class: 'last' }, conv.lastText),
          ),
          h(
            'span',
            { class: 'meta' },
            h('time', {}, conv.timestamp ? timeOf(conv.timestamp) : ''),
            conv.unread > 0 ? h('span', { class: 'badge' }, String(conv.unread)) : '',
          ),
        );
        const open = () => void this.open(conv.id);
        item.addEventListener('click', open);
        item.addEventListener('keydown', (e) => {
          if (e.key === 'Enter') open();
        });
        return item;
      }),
    );
  }

  async open(id: string, focusMessage?: string): Promise<void> {
    this.current = id;
    this.shell.classList.add('show-thread');
    this.results.hidden = true;
    const conv = this.upsert(id, { unread: 0 });
    this.title.textContent = conv.group ? `# ${id}` : id;
    this.composerForm!.hidden = false;
    this.rows.clear();
    this.thread.replaceChildren();
    const page = await this.client.history(id, { limit: 50 });
    if (this.current !== id) return;
    for (const message of page.messages) this.append(message);
    if (page.messages.length > 0 || conv.unread > 0) this.markRead(id, page.messages);
    const target = focusMessage ? this.rows.get(focusMessage) : undefined;
    if (target) {
      target.scrollIntoView({ block: 'center' });
      target.classList.add('flash');
    } else this.thread.scrollTop = this.thread.scrollHeight;
    this.composer.focus();
  }

  /** Read receipts for the other side's messages not yet read, then the conversation's unread count to 0. */
  markRead(id: string, messages: MessageCopy[]): void {
    const unread = messages.filter((m) => m.sender !== this.user && m.status < 200).slice(-20);
    for (const m of unread) void this.client.sendReceipt(id, m.message_id).catch(() => {});
    void this.client.markRead(id).catch(() => {});
  }

  onMessage(conversWith: string, message: MessageCopy): void {
    const mine = message.sender === this.user;
    const open = conversWith === this.current;
    const conv = this.conversations.get(conversWith);
    this.upsert(conversWith, {
      group: message.channel_type === 'group',
      lastText: message.text ?? '',
      timestamp: message.timestamp,
      unread: open || mine ? (conv?.unread ?? 0) : (conv?.unread ?? 0) + 1,
    });
    if (!open) return;
    this.append(message);
    this.thread.scrollTop = this.thread.scrollHeight;
    if (!mine && document.visibilityState !== 'hidden') this.markRead(conversWith, [message]);
  }

  append(message: MessageCopy): void {
    const existing = this.rows.get(message.message_id);
    if (existing) {
      this.setStatus(message.message_id, message.status);
      return;
    }
    const mine = message.sender === this.user;
    const attributes = (message.attributes ?? {}) as Record<string, unknown>;
    if (attributes.subtype === 'info') {
      const row = h('div', { class: 'info', 'data-id': message.message_id }, message.text ?? '');
      this.rows.set(message.message_id, row);
      this.thread.append(row);
      return;
    }
    const bubble = h('div', { class: 'bubble' });
    if (!mine && message.channel_type === 'group') {
      const name = typeof message.sender_fullname === 'string' ? message.sender_fullname : message.sender;
      bubble.append(h('span', { class: 'sender' }, name));
    }
    bubble.append(
      h('span', { class: 'text' }, message.text ?? ''),
      h(
        'span',
        { class: 'stamp' },
        h('time', {}, timeOf(message.timestamp)),
        mine ? h('span', { class: 'mark' }) : '',
      ),
    );
    const row = h(
      'div',
      { class: `message ${mine ? 'mine' : 'theirs'}`, 'data-id': message.message_id },
      bubble,
    );
    this.rows.set(message.message_id, row);
    this.thread.append(row);
    this.setStatus(message.message_id, message.status);
  }

  setStatus(messageId: string, status: number): void {
    const row = this.rows.get(messageId);
    if (!row) return;
    const old = Number(row.dataset.status ?? '-1000');
    if (status < old && status !== -100) return; // marks only move forward
    row.dataset.status = String(status);
    const mark = row.querySelector<HTMLElement>('.mark');
    if (!mark) return;
    const { symbol, label } = markOf(status);
    mark.textContent = symbol;
    mark.title = label;
    mark.dataset.mark = label;
  }

  send(): void {
    const text = this.composer.value.trim();
    const to = this.current;
    if (!text || !to) return;
    this.composer.value = '';
    const conv = this.conversations.get(to);
    const messageId = crypto.randomUUID();
    const group = conv?.group ?? false;
    // Optimistic: shown at once as "sending", then moved on by the broker's ack and the server's updates.
    this.append({
      message_id: messageId,
      sender: this.user,
      recipient: to,
      app_id: APP,
      timestamp: Date.now(),
      channel_type: group ? 'group' : 'direct',
      status: 0,
      seq: 0,
      text,
    });
    this.thread.scrollTop = this.thread.scrollHeight;
    this.upsert(to, { lastText: text, timestamp: Date.now() });
    this.client
      .sendMessage(to, text, { messageId, group })
      .then(() => this.setStatus(messageId, 100))
      .catch(() => this.setStatus(messageId, -100));
  }

  async runSearch(q: string): Promise<void> {
    if (!q) {
      this.results.hidden = true;
      return;
    }
    const hits = await this.client.search(q, { limit: 30 });
    this.results.hidden = false;
    if (hits.length === 0) {
      this.results.replaceChildren(h('li', { class: 'muted' }, `No messages match “${q}”`));
      return;
    }
    this.results.replaceChildren(
      ...hits.map((hit) => {
        const item = h(
          'li',
          { class: 'result', tabindex: '0' },
          h('span', { class: 'name' }, hit.conversWith),
          h('span', { class: 'snippet' }, ...highlight(hit.message.text ?? '', q)),
        );
        item.addEventListener('click', () => void this.open(hit.conversWith, hit.message.message_id));
        return item;
      }),
    );
  }
}

const saved = localStorage.getItem(USER_KEY);
if (saved) void signIn(saved).catch((e: unknown) => showLogin(String((e as Error).message ?? e)));
else showLogin();
