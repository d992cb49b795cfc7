import { conversationKindOf, parseTopic } from '@mercurio/protocol';
import { type ChatMessage, type MercurioClient, type MessageChanged, quoteText } from '@mercurio/sdk';
import type { AttachmentFiles } from './attachment-files.js';
import { hydrateAttachment } from './attachment-view.js';
import { Composer } from './composer.js';
import { dayKey, dayLabel, fill, h, markOf, NOT_SENT, presenceLabel } from './dom.js';
import { presenceDot } from './list.js';
import { MessageActions } from './message-actions.js';
import { renderMessage } from './message-view.js';
import {
  type ChatState,
  type ConversationRef,
  keyOf,
  membersLabel,
  refOf,
  refOfMessage,
  typingLabel,
} from './state.js';
import { Uploads } from './uploads.js';

type MessageCopy = ChatMessage;

/** Messages per history page (the first one and each one loaded by scrolling back). */
export const PAGE_SIZE = 30;

interface Row {
  message: MessageCopy;
  element: HTMLElement;
}

export interface ThreadActions {
  back(): void;
  /** Undefined in widget mode (one conversation, no group administration). */
  groupInfo: ((id: string) => void) | undefined;
  /** Undefined in widget mode (no conversation list to archive from). */
  archive: ((ref: ConversationRef, archived: boolean) => void) | undefined;
}

/**
 * One open conversation: header (title, presence or members, actions), messages with day
 * separators and sent / delivered / read marks, infinite scroll back through history, who is
 * typing, and the composer (composer.ts).
 */
export class ThreadView {
  readonly element = h('section', { class: 'thread' });
  readonly messages = h('div', { class: 'messages', id: 'messages', 'aria-live': 'polite' });
  readonly title = h('h2', { id: 'thread-title' }, '');
  readonly subtitle = h('p', { class: 'subtitle', id: 'thread-subtitle' }, '');
  readonly typing = h('div', { class: 'typing-line', id: 'typing', 'aria-live': 'polite' });
  readonly notMember = h(
    'p',
    { class: 'not-member muted', id: 'not-member', hidden: 'true' },
    'You are not a member of this group any more.',
  );
  readonly groupButton = h(
    'button',
    { class: 'icon', id: 'group-info', type: 'button', title: 'Group details', hidden: 'true' },
    'Members',
  );
  readonly archiveButton = h('button', { class: 'icon', id: 'archive-toggle', type: 'button' }, 'Archive');
  readonly older = h('div', { class: 'older muted', id: 'older', hidden: 'true' }, 'Loading older messages…');
  /** Shown over the thread while files are dragged over it. */
  readonly dropHint = h('div', { class: 'drop-hint', id: 'drop-hint', hidden: 'true' }, 'Drop files to send');

  /** The open conversation: its kind and id, fixed while it is open. */
  current: ConversationRef | undefined;
  /** Set when the thread is off screen though the page is visible (a closed widget). */
  offscreen = false;
  readonly #rows = new Map<string, Row>();
  #firstSeq: number | null = null;
  #hasMore = false;
  #loadingOlder: Promise<void> | undefined;
  readonly composer: Composer;
  readonly messageActions: MessageActions;

  constructor(
    readonly client: MercurioClient,
    readonly state: ChatState,
    readonly actions: ThreadActions,
    readonly options: { back: boolean; title?: string; files: AttachmentFiles },
  ) {
    const back = h('button', { class: 'back', type: 'button', 'aria-label': 'Back' }, '‹');
    back.hidden = !options.back;
    back.addEventListener('click', () => actions.back());
    this.groupButton.addEventListener('click', () => {
      if (this.current?.group) actions.groupInfo?.(this.current.id);
    });
    this.archiveButton.hidden = actions.archive === undefined;
    this.archiveButton.addEventListener('click', () => {
      const ref = this.current;
      if (!ref) return;
      const archived = state.conversations.get(keyOf(ref))?.archived ?? false;
      actions.archive?.(ref, !archived);
    });
    this.composer = new Composer(client, state, this, new Uploads(client, state, this, options.files));
    this.#acceptDrops();
    this.messageActions = new MessageActions(client, this, this.messages);
    this.messages.addEventListener('scroll', () => {
      if (this.messages.scrollTop < 150) void this.loadOlder();
    });
    this.messages.addEventListener('click', (event) => {
      const retry = (event.target as Element).closest<HTMLElement>('.retry');
      const id = retry?.closest<HTMLElement>('.message')?.dataset.id;
      if (id) this.composer.retry(id);
    });
    this.element.append(
      h(
        'header',
        { class: 'bar thread-bar' },
        back,
        h('span', { class: 'thread-heading' }, this.title, this.subtitle),
        this.groupButton,
        this.archiveButton,
      ),
      this.messages,
      this.typing,
      this.composer.form,
      this.notMember,
      this.dropHint,
    );
    this.archiveButton.hidden = true;
    this.title.textContent = 'Pick a conversation';
    state.subscribe(() => this.renderHeader());
  }

  /** Files dragged onto the thread are sent into it (when the user may write here). */
  #acceptDrops(): void {
    const carriesFiles = (event: DragEvent) => event.dataTransfer?.types.includes('Files') === true;
    const open = () => this.current !== undefined && !this.composer.form.hidden;
    let depth = 0; // dragenter/dragleave fire for every child crossed
    this.element.addEventListener('dragenter', (event) => {
      if (!carriesFiles(event) || !open()) return;
      event.preventDefault();
      depth++;
      this.dropHint.hidden = false;
    });
    this.element.addEventListener('dragover', (event) => {
      if (!carriesFiles(event) || !open()) return;
      event.preventDefault();
      if (event.dataTransfer) event.dataTransfer.dropEffect = 'copy';
    });
    this.element.addEventListener('dragleave', () => {
      depth = Math.max(0, depth - 1);
      if (depth === 0) this.dropHint.hidden = true;
    });
    // Files dropped anywhere else (or where one may not write) are ignored, never opened in place of the app.
    for (const type of ['dragover', 'drop'] as const)
      window.addEventListener(type, (event) => {
        if (carriesFiles(event) && !event.defaultPrevented) event.preventDefault();
      });
    this.element.addEventListener('drop', (event) => {
      depth = 0;
      this.dropHint.hidden = true;
      const files = event.dataTransfer?.files;
      if (!files || files.length === 0) return;
      event.preventDefault(); // never let the browser open the file in place of the app
      if (open()) this.composer.uploads.add(files);
    });
  }

  /** Whether `ref` (kind and id) is the open conversation. */
  isCurrent(ref: ConversationRef): boolean {
    return this.current !== undefined && keyOf(this.current) === keyOf(ref);
  }

  /**
   * What a history page holds of this conversation: a direct and a group conversation may share
   * an id (and so a history), but each thread shows only messages of its own kind.
   */
  #ofThisKind(ref: ConversationRef, messages: MessageCopy[]): MessageCopy[] {
    return messages.filter((message) => refOfMessage(ref.id, message).group === ref.group);
  }

  /** Opens a conversation at its newest messages, or at `focus` (a message id, from search). */
  async show(ref: ConversationRef, focus?: { messageId: string; seq: number }): Promise<void> {
    const id = ref.id;
    this.current = ref;
    this.#rows.clear();
    this.#firstSeq = null;
    this.#hasMore = false;
    this.#loadingOlder = undefined;
    this.messages.replaceChildren();
    this.renderHeader();
    const page = await this.client.history(id, { limit: PAGE_SIZE });
    if (this.current !== ref) return;
    this.#firstSeq = page.firstSeq;
    this.#hasMore = page.hasMore;
    for (const message of this.#ofThisKind(ref, page.messages)) this.#put(message);
    for (const message of this.#pendingFor(ref)) this.#put(message);
    this.layout();
    this.messages.scrollTop = this.messages.scrollHeight;
    this.markRead(page.messages);
    if (focus) {
      // Page back until the message is there (it is older than the first page).
      for (let pages = 0; !this.#rows.has(focus.messageId) && this.#hasMore && pages < 100; pages++) {
        await this.loadOlder();
        if (this.current !== ref) return;
      }
      const row = this.#rows.get(focus.messageId)?.element;
      if (row) {
        row.scrollIntoView({ block: 'center' });
        row.classList.add('flash');
      }
    } else {
      // Fill the screen: a short first page leaves no room to scroll back.
      while (this.#hasMore && this.messages.scrollHeight <= this.messages.clientHeight) {
        await this.loadOlder();
        if (this.current !== ref) return;
      }
    }
    if (matchMedia('(pointer: fine)').matches) this.composer.input.focus();
  }

  hide(): void {
    this.composer.stopTyping();
    this.current = undefined;
    this.composer.form.hidden = true;
    this.renderHeader();
  }

  /** The page older than what is shown, keeping what the user looks at in place. */
  loadOlder(): Promise<void> {
    const ref = this.current;
    if (!ref || !this.#hasMore || this.#firstSeq === null || this.#loadingOlder) return Promise.resolve();
    this.#loadingOlder = (async () => {
      try {
        const page = await this.client.history(ref.id, { before: this.#firstSeq!, limit: PAGE_SIZE });
        if (this.current !== ref) return;
        this.#firstSeq = page.firstSeq ?? this.#firstSeq;
        this.#hasMore = page.hasMore;
        const fromBottom = this.messages.scrollHeight - this.messages.scrollTop;
        for (const message of this.#ofThisKind(ref, page.messages)) this.#put(message);
        this.layout();
        this.messages.scrollTop = this.messages.scrollHeight - fromBottom;
      } finally {
        this.#loadingOlder = undefined;
      }
    })();
    return this.#loadingOlder;
  }

  /** A message of this conversation (live, gap-filled, or the server's copy of one sent here). */
  onMessage(message: MessageCopy): void {
    const bottom = this.#nearBottom();
    const known = this.#rows.get(message.message_id);
    this.#put(message);
    if (known) this.setStatus(message.message_id, message.status);
    this.layout();
    if (bottom || message.sender === this.state.user) this.messages.scrollTop = this.messages.scrollHeight;
    if (message.sender !== this.state.user) this.markRead([message]);
  }

  /** Whether the user can see the thread now. */
  seen(): boolean {
    return this.current !== undefined && !this.offscreen && document.visibilityState !== 'hidden';
  }

  /** Read receipts for the other side's messages not read yet (default: all shown), then the unread count to 0. */
  markRead(messages: MessageCopy[] = [...this.#rows.values()].map((row) => row.message)): void {
    const ref = this.current;
    if (!ref || !this.seen()) return;
    const { id } = ref;
    const unread = messages.filter((m) => m.sender !== this.state.user && m.status < 200).slice(-20);
    for (const m of unread) void this.client.sendReceipt(id, m.message_id).catch(() => {});
    const conv = this.state.conversations.get(keyOf(ref));
    if (unread.length > 0 || (conv?.unread ?? 0) > 0) void this.client.markRead(id).catch(() => {});
    if (conv && (conv.unread > 0 || conv.mentioned)) this.state.upsert(ref, { unread: 0, mentioned: false });
  }

  setStatus(messageId: string, status: number): void {
    const row = this.#rows.get(messageId);
    if (!row) return;
    const old = row.message.status as number;
    if (status < old && status !== NOT_SENT) return; // marks only move forward
    if (status === NOT_SENT && old >= 100) return; // the broker has it: not "not sent"
    row.message = { ...row.message, status: status as MessageCopy['status'] };
    row.element.dataset.status = String(status);
    if (status !== 0) this.composer.settled(messageId);
    const mark = row.element.querySelector<HTMLElement>('.mark');
    if (!mark) return;
    const { symbol, label } = markOf(status);
    mark.textContent = symbol;
    mark.title = label;
    mark.dataset.mark = label;
    const retry = row.element.querySelector<HTMLElement>('.retry');
    if (retry) retry.hidden = status !== NOT_SENT;
  }

  /** The message shown in this thread with that id. */
  message(messageId: string): MessageCopy | undefined {
    return this.#rows.get(messageId)?.message;
  }

  /** Ids of the messages shown as being sent. */
  sending(): string[] {
    return [...this.#rows.values()].filter((r) => r.message.status === 0).map((r) => r.message.message_id);
  }

  /** Sets a status even backwards (a message sent again goes from "not sent" back to "sending"). */
  restatus(messageId: string, status: number): void {
    const row = this.#rows.get(messageId);
    if (!row) return;
    row.message = { ...row.message, status: 0 as MessageCopy['status'] };
    this.setStatus(messageId, status);
  }

  /** Messages to this conversation (kind and id) still in the outbox (e.g. written offline before a reload). */
  #pendingFor(ref: ConversationRef): MessageCopy[] {
    const { id } = ref;
    const found: MessageCopy[] = [];
    for (const entry of this.client.pending()) {
      const topic = parseTopic(entry.topic, 'mqtt');
      if (!topic.ok || topic.topic.kind !== 'outgoing' || topic.topic.recipient !== id) continue;
      if (this.#rows.has(entry.id)) continue;
      let payload: Record<string, unknown>;
      try {
        payload = JSON.parse(entry.payload) as Record<string, unknown>;
      } catch {
        continue;
      }
      const kind = conversationKindOf(payload.channel_type, id);
      if ((kind === 'group') !== ref.group) continue;
      found.push({
        message_id: entry.id,
        sender: this.state.user,
        recipient: id,
        app_id: this.client.appId,
        timestamp: entry.createdAt,
        channel_type: kind,
        status: NOT_SENT as MessageCopy['status'],
        seq: 0,
        text: typeof payload.text === 'string' ? payload.text : '',
      });
    }
    return found;
  }

  #put(message: MessageCopy): void {
    const known = this.#rows.get(message.message_id);
    if (known) {
      // The server's copy of an optimistic message: its seq and timestamp place it for good, and
      // with a seq it can be replied to, reacted to, edited.
      if (message.seq && !known.message.seq) {
        known.message = { ...message, status: known.message.status };
        this.#redraw(known);
      }
      return;
    }
    this.#rows.set(message.message_id, { message, element: this.#render(message) });
    this.setStatus(message.message_id, message.status);
  }

  #render(message: MessageCopy): HTMLElement {
    const ref = this.current;
    const canAct = !ref?.group || this.state.isMember(ref.id);
    const owner = ref?.group === true && this.state.groups.get(ref.id)?.owner === this.state.user;
    const element = renderMessage(message, { user: this.state.user, canAct, deleteAny: owner });
    hydrateAttachment(element, this.options.files);
    return element;
  }

  /** Draws a row again (its message changed), keeping its place and its status mark. */
  #redraw(row: Row): void {
    const element = this.#render(row.message);
    row.element.replaceWith(element);
    row.element = element;
    const status = row.message.status as number;
    row.message = { ...row.message, status: 0 as MessageCopy['status'] };
    this.setStatus(row.message.message_id, status);
  }

  /**
   * A message of this thread changed (an edit, a delete, reactions; or hidden for this user):
   * its row is drawn again (or removed), and so is every reply quoting it.
   */
  onChanged(event: MessageChanged): void {
    if (!this.isCurrent(refOf(event.kind, event.conversWith))) return;
    const row = this.#rows.get(event.messageId);
    if (event.change === 'hidden') {
      if (!row) return;
      row.element.remove();
      this.#rows.delete(event.messageId);
      this.layout();
      return;
    }
    const changed = event.message;
    if (!changed) return;
    if (row) {
      const status = Math.max(row.message.status as number, changed.status as number);
      row.message = { ...changed, status: status as MessageCopy['status'] };
      this.#redraw(row);
    }
    const deleted = changed.deleted_at !== undefined;
    for (const other of this.#rows.values()) {
      const quote = other.message.quote;
      if (quote?.message_id !== event.messageId) continue;
      const text = deleted ? '' : quoteText(changed.text);
      if (quote.text === text && (quote.deleted === true) === deleted) continue;
      other.message = {
        ...other.message,
        quote: { ...quote, text, ...(deleted ? { deleted: true as const } : {}) },
      };
      this.#redraw(other);
    }
  }

  /** Who may be mentioned here: a group's members, a direct conversation's peer (never the user). */
  mentionable(): string[] {
    const ref = this.current;
    if (!ref) return [];
    const members = ref.group ? (this.state.groups.get(ref.id)?.members ?? []) : [ref.id];
    return members.filter((member) => member !== this.state.user);
  }

  /** Starts a reply to a message in the composer. */
  replyTo(message: MessageCopy): void {
    this.composer.replyTo(message);
  }

  /** Scrolls to a message of this thread, paging back through history until it is there. */
  async reveal(messageId: string, _seq: number): Promise<void> {
    const ref = this.current;
    for (let pages = 0; ref && !this.#rows.has(messageId) && this.#hasMore && pages < 100; pages++) {
      await this.loadOlder();
      if (this.current !== ref) return;
    }
    const row = this.#rows.get(messageId)?.element;
    if (!row) return;
    row.scrollIntoView({ block: 'center' });
    row.classList.remove('flash');
    void row.offsetWidth; // restart the highlight
    row.classList.add('flash');
    setTimeout(() => row.classList.remove('flash'), 2000);
    row.querySelector<HTMLElement>('.more')?.focus({ preventScroll: true });
  }

  /** Puts the rows in order (by seq; unsent ones last) with a separator before each new day. */
  layout(): void {
    const rows = [...this.#rows.values()].sort(
      (a, b) =>
        (a.message.seq || Number.MAX_SAFE_INTEGER) - (b.message.seq || Number.MAX_SAFE_INTEGER) ||
        a.message.timestamp - b.message.timestamp,
    );
    // Shown whenever there is more to load, so that loading it does not move the messages.
    this.older.hidden = !this.#hasMore;
    const nodes: Node[] = [this.older];
    let day = '';
    for (const { message, element } of rows) {
      const key = dayKey(message.timestamp);
      if (key !== day) {
        day = key;
        nodes.push(h('div', { class: 'day', role: 'separator' }, h('span', {}, dayLabel(message.timestamp))));
      }
      nodes.push(element);
    }
    this.messages.replaceChildren(...nodes);
  }

  renderHeader(): void {
    const ref = this.current;
    const { state } = this;
    if (!ref) {
      this.title.textContent = 'Pick a conversation';
      fill(this.subtitle);
      this.groupButton.hidden = true;
      this.archiveButton.hidden = true;
      this.typing.hidden = true;
      this.composer.form.hidden = true;
      this.notMember.hidden = true;
      return;
    }
    const { id, group } = ref;
    const conv = state.conversations.get(keyOf(ref));
    const name = this.options.title ?? (group ? `# ${state.title(ref)}` : id);
    fill(this.title, group ? '' : presenceDot(state, id), name);
    if (group) {
      const members = state.groups.get(id)?.members ?? [];
      fill(
        this.subtitle,
        members.length ? `${membersLabel(members.length)}: ${members.join(', ')}` : 'group',
      );
    } else {
      const presence = state.presence.get(id);
      fill(this.subtitle, presence ? presenceLabel(presence.online, presence.lastOnline) : '');
    }
    this.groupButton.hidden = !group || this.actions.groupInfo === undefined;
    this.archiveButton.hidden = this.actions.archive === undefined;
    this.archiveButton.textContent = conv?.archived ? 'Unarchive' : 'Archive';
    const member = !group || state.isMember(id);
    this.composer.form.hidden = !member;
    this.notMember.hidden = member;
    const typists = state.typists(ref);
    this.typing.hidden = typists.length === 0;
    this.typing.textContent = typingLabel(typists);
  }

  #nearBottom(): boolean {
    const el = this.messages;
    return el.scrollHeight - el.scrollTop - el.clientHeight < 80;
  }
}
